// One training step's measurements and their place in the run log's /steps
// table (docs/LOG_FORMAT.md), so the column list and the row never disagree.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "flowbp/run_log.h"

namespace flowbp {

struct StepRecord {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

  std::int64_t step = 0;
  double loss = kNone, reward_mean = kNone, reward_std = kNone;
  double grad_norm_pre_clip = kNone, grad_norm_post_clip = kNone;
  double r_s_mean = kNone, r_s_max = kNone, r_0_mean = kNone, r_0_max = kNone;
  double compose_err = kNone;
  double traj_weight_min = 1, traj_weight_max = 1;
  double grad_rescale_factor = 1;          // ρ (of the first range where there are two)
  double grad_rescale_factor_post = kNone;  // ρ of the second range, NaN with one range
  int j = -1, s = -1;
  std::vector<int> active;  // descending
  int jacobian_depth = 0;
  // Peak bytes from before the rollout through the backward, less rollout_cache_bytes.
  std::int64_t peak_autograd_bytes = 0;
  double time_rollout = 0, time_surrogate_forward = 0, time_backward = 0, time_optimizer = 0;
  double time_logging = 0, time_step = 0;
  double lr = 0;  // the scheduled learning rate of this optimizer step
  // The gradient-fidelity diagnostic (NaN, and −1 bytes, on steps without it).
  double fidelity_cos = kNone, fidelity_norm_ratio = kNone, fidelity_bias_cos = kNone, fidelity_spread_cos = kNone;
  double time_fidelity = kNone;
  std::int64_t fidelity_peak_bytes = -1;
  // Not log columns (the bench reads them): the rollout's latents x_0..x_{N−1} and
  // v_1..v_N; active terms of the plan; of those, taken from the rollout's forwards;
  // rollout steps run with gradient.
  std::int64_t rollout_cache_bytes = 0;
  int active_forwards = 0, reused_forwards = 0, rollout_grad_forwards = 0;
};

// The /steps columns for a method whose active set holds at most `max_active` indices.
std::vector<ColumnSpec> step_columns(int max_active);
// The record as a row of step_columns(max_active); the active set padded with −1.
Row step_row(const StepRecord& record, int max_active);

}  // namespace flowbp
