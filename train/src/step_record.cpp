#include "flowbp/step_record.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>

namespace flowbp {

std::vector<ColumnSpec> step_columns(int max_active) {
  std::vector<ColumnSpec> c;
  auto real = [&](const char* name) { c.push_back({name, false, false}); };
  auto integer = [&](const std::string& name) { c.push_back({name, true, false}); };
  integer("step");
  for (const char* n : {"loss", "reward_mean", "reward_std", "grad_norm_pre_clip", "grad_norm_post_clip",
                        "r_s_mean", "r_s_max", "r_0_mean", "r_0_max", "compose_err", "traj_weight_min",
                        "traj_weight_max", "grad_rescale_factor", "grad_rescale_factor_post"})
    real(n);
  integer("j");
  integer("s");
  for (int k = 0; k < max_active; ++k) integer("active_" + std::to_string(k));
  integer("n_active");
  integer("jacobian_depth");
  integer("peak_autograd_bytes");
  for (const char* n : {"time_rollout", "time_surrogate_forward", "time_backward", "time_optimizer",
                        "time_logging", "time_step", "lr", "fidelity_cos", "fidelity_norm_ratio",
                        "fidelity_bias_cos", "fidelity_spread_cos", "time_fidelity"})
    real(n);
  integer("fidelity_peak_bytes");
  return c;
}

Row step_row(const StepRecord& r, int max_active) {
  if (static_cast<int>(r.active.size()) > max_active)
    throw std::logic_error("the method's plan has " + std::to_string(r.active.size()) +
                           " active indices, more than the max_active = " + std::to_string(max_active) +
                           " it declared");
  Row row = {static_cast<double>(r.step), r.loss, r.reward_mean, r.reward_std, r.grad_norm_pre_clip,
             r.grad_norm_post_clip, r.r_s_mean, r.r_s_max, r.r_0_mean, r.r_0_max, r.compose_err,
             r.traj_weight_min, r.traj_weight_max, r.grad_rescale_factor, r.grad_rescale_factor_post,
             static_cast<double>(r.j), static_cast<double>(r.s)};
  std::vector<int> active = r.active;
  std::sort(active.begin(), active.end(), std::greater<int>());
  for (int k = 0; k < max_active; ++k)
    row.push_back(k < static_cast<int>(active.size()) ? active[static_cast<std::size_t>(k)] : -1);
  row.push_back(static_cast<double>(active.size()));
  row.push_back(r.jacobian_depth);
  row.push_back(static_cast<double>(r.peak_autograd_bytes));
  for (double v : {r.time_rollout, r.time_surrogate_forward, r.time_backward, r.time_optimizer, r.time_logging,
                   r.time_step, r.lr, r.fidelity_cos, r.fidelity_norm_ratio, r.fidelity_bias_cos,
                   r.fidelity_spread_cos, r.time_fidelity})
    row.push_back(v);
  row.push_back(static_cast<double>(r.fidelity_peak_bytes));
  return row;
}

}  // namespace flowbp
