// One training step (the brief's order): conditions and noise → cached rollout →
// method.plan → surrogate → reward of each reward input → trajectory weights →
// hinge loss → backward → clip → AdamW → EMA, timed per phase.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowbp/checkpoint.h"
#include "flowbp/method.h"
#include "flowbp/rewards.h"
#include "flowbp/schedule.h"
#include "flowbp/step_record.h"

namespace flowbp {

struct StepContext {
  const Method& method;
  const ParamValues& params;
  const Schedule& schedule;
  const GaussianMixture& mixture;
  const ModePreferenceReward& reward;
  const std::vector<std::int64_t>& conditions;  // drawn uniformly from the data stream
  std::int64_t batch = 0;
  double guidance = 1, tau = 0, loss_scale = 1, max_grad_norm = 1, ema_decay = 0, lr = 0;
};

struct StepOutcome {
  StepRecord record;    // time_logging is the caller's to fill
  std::string failure;  // "non-finite loss (nan) at step 17"; empty when the step went through
};

// Advances the state by one step (nothing is updated when the step fails).
StepOutcome train_step(const StepContext& context, TrainingState& state, std::int64_t step);

// The EMA decay at a 1-based step: min(ema_decay, (1 + n) / (10 + n)), n = step − 1,
// the warm-up diffusers' EMAModel applies, so early evaluations are not the base model.
double ema_decay_at(double ema_decay, std::int64_t step);

}  // namespace flowbp
