// One training step: for each of train.grad_accumulation micro-batches, conditions and
// noise → method.plan → cached rollout (running the plan's reusable forwards with
// gradient) → surrogate → reward of each reward input → trajectory weights → hinge loss →
// backward (scaled by 1/micro-batches, and by 1/g under CFG gradient compensation); then
// [the gradient-fidelity diagnostic] → [all-reduce] → clip → AdamW at the scheduled
// learning rate → EMA, timed per phase.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowbp/reward.h"
#include "flowbp/checkpoint.h"
#include "flowbp/compute.h"
#include "flowbp/distributed.h"
#include "flowbp/experiment.h"
#include "flowbp/method.h"
#include "flowbp/schedule.h"
#include "flowbp/step_record.h"

namespace flowbp {

// The learning rate's factor on train.lr per optimizer step, as transformers' schedules
// (the authors' get_scheduler) compute it with n = step − 1 steps done: a linear warm-up
// n / warmup_steps while n < warmup_steps (so the first step of a warm-up trains at 0),
// then constant, linear (T − n)/(T − W) or half-cosine ½(1 + cos(π·(n − W)/(T − W))),
// T = total_steps, each decay lifted to min_ratio + (1 − min_ratio)·decay.
struct LrSchedule {
  std::string kind = "constant";  // "constant", "linear", "cosine"
  std::int64_t warmup_steps = 0, total_steps = 0;
  double min_ratio = 0;
  double factor(std::int64_t step) const;
};

// Filled by name (the pointers must outlive the step).
struct StepContext {
  const Method* method = nullptr;
  const SettingValues* params = nullptr;
  const Schedule* schedule = nullptr;
  LatentSpec latents;
  RewardFn reward;
  const std::vector<std::int64_t>* conditions = nullptr;  // drawn uniformly from the data stream
  std::int64_t batch = 0;                       // the GLOBAL batch of one micro-batch: a rank trains on its slice
  double guidance = 1, tau = 0, loss_scale = 1, max_grad_norm = 1, ema_decay = 0, lr = 0;
  LrSchedule lr_schedule;          // the factor on lr per step (constant 1 by default)
  bool ema_fixed = false;          // true: ema_decay from the first step; false: the warm-up of ema_decay_at
  std::int64_t grad_accumulation = 1;  // micro-batches per optimizer step
  bool cfg_attached = false;           // the unconditional branch of guidance keeps its gradient
  bool cfg_grad_compensation = false;  // divide the gradient by guidance when guidance > 1
  DiagnosticsConfig diagnostics;       // the gradient-fidelity diagnostic (off by default)
  // Data parallelism (nullptr: one process). Every rank draws the global batch's
  // conditions and noise from the same streams and keeps rows [rank·b, (rank+1)·b);
  // gradients are averaged (over ranks, after the micro-batches are summed) before the
  // pre-clip norm, and the logged statistics are global, so W ranks log and train what
  // one process over the same batch would.
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

// The fields an experiment gives (method settings, batch, guidance, loss, optimizer,
// schedule of the learning rate, EMA, accumulation, CFG, diagnostics); the caller adds
// the method, schedule, latents, reward, conditions, compute and group. The trainer and
// the bench both start here, so a new training key reaches both.
StepContext step_context(const Experiment& experiment);

// Advances the state by one optimizer step (nothing is updated when the step fails; with
// a group, every rank fails alike because the checks read global values).
StepOutcome train_step(const StepContext& context, TrainingState& state, std::int64_t step);

// The EMA decay at a 1-based step: min(ema_decay, (1 + n) / (10 + n)), n = step − 1,
// the warm-up diffusers' EMAModel applies, so early evaluations are not the base model
// (train.ema = "warmup"; "fixed" uses ema_decay throughout, as the authors' trainers).
double ema_decay_at(double ema_decay, std::int64_t step);

}  // namespace flowbp
