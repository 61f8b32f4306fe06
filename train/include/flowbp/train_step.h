// One training step: conditions and noise → method.plan → cached rollout (running the
// plan's reusable forwards with gradient) → surrogate → reward of each reward input → trajectory weights →
// hinge loss → backward → [all-reduce] → clip → AdamW → EMA, timed per phase.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowbp/reward.h"
#include "flowbp/checkpoint.h"
#include "flowbp/compute.h"
#include "flowbp/distributed.h"
#include "flowbp/method.h"
#include "flowbp/schedule.h"
#include "flowbp/step_record.h"

namespace flowbp {

// Filled by name (the pointers must outlive the step).
struct StepContext {
  const Method* method = nullptr;
  const SettingValues* params = nullptr;
  const Schedule* schedule = nullptr;
  LatentSpec latents;
  RewardFn reward;
  const std::vector<std::int64_t>* conditions = nullptr;  // drawn uniformly from the data stream
  std::int64_t batch = 0;                       // the GLOBAL batch: a rank trains on its slice
  double guidance = 1, tau = 0, loss_scale = 1, max_grad_norm = 1, ema_decay = 0, lr = 0;
  // Data parallelism (nullptr: one process). Every rank draws the global batch's
  // conditions and noise from the same streams and keeps rows [rank·b, (rank+1)·b);
  // gradients are averaged before the pre-clip norm, and the logged statistics are
  // global, so W ranks log and train what one process over the same batch would.
  ProcessGroup* group = nullptr;
  Compute compute{};
  // The rollout runs the steps the surrogate would re-forward on sg(x_i) (and full
  // backprop's chain) with gradient, and the surrogate reuses them (RolloutReuse).
  // false: the classic engine, N no-gradient forwards then every active term
  // re-forwarded. The gradients are the same; the bench times both.
  bool reuse_rollout = true;
};

struct StepOutcome {
  StepRecord record;    // time_logging is the caller's to fill
  std::string failure;  // "non-finite loss (nan) at step 17"; empty when the step went through
};

// Advances the state by one step (nothing is updated when the step fails; with a
// group, every rank fails alike because the checks read global values).
StepOutcome train_step(const StepContext& context, TrainingState& state, std::int64_t step);

// The EMA decay at a 1-based step: min(ema_decay, (1 + n) / (10 + n)), n = step − 1,
// the warm-up diffusers' EMAModel applies, so early evaluations are not the base model.
double ema_decay_at(double ema_decay, std::int64_t step);

}  // namespace flowbp
