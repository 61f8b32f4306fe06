#include "flowbp/train_step.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "flowbp/clock.h"
#include "flowbp/fidelity.h"
#include "flowbp/rollout.h"
#include "flowbp/surrogate.h"
#include "flowbp/velocity.h"

namespace flowbp {

namespace {

std::string non_finite(const char* what, double value, std::int64_t step) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "non-finite %s (%s) at step %lld", what, std::isnan(value) ? "nan" : "inf",
                static_cast<long long>(step));
  return buf;
}

double global_grad_norm(const std::vector<at::Tensor>& params) {
  double sq = 0;
  for (const auto& p : params)
    if (p.grad().defined()) sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  return std::sqrt(sq);
}

at::Tensor draw_conditions(const std::vector<std::int64_t>& pool, std::int64_t batch, std::mt19937_64& rng) {
  std::vector<std::int64_t> picked(static_cast<std::size_t>(batch));
  for (auto& c : picked) c = pool[rng() % pool.size()];
  return at::tensor(picked, at::kLong);
}

// This rank's rows of the global batch.
struct Slice {
  std::int64_t offset = 0, size = 0;
  at::Tensor of(const at::Tensor& global) const { return global.narrow(0, offset, size); }
};

Slice slice_of(const StepContext& c) {
  if (!c.group) return {0, c.batch};
  const RankInfo& r = c.group->ranks();
  const std::int64_t local = c.batch / r.world_size;
  return {r.rank * local, local};
}

// Sums (and maxima) of the step's statistics over this rank's samples; reduced over
// ranks when there is a group, so every rank logs and checks the global values.
struct Stats {
  enum Sum { kReward, kRewardSq, kLoss, kRs, kR0, kComposeErr, kSums };
  enum Max { kRsMax, kR0Max, kWeightMax, kNegWeightMin, kMaxes };
  std::vector<double> sum = std::vector<double>(kSums, 0.0);
  std::vector<double> max = std::vector<double>(kMaxes, -HUGE_VAL);

  void reduce(ProcessGroup* group) {
    if (!group) return;
    sum = group->sum(sum);
    max = group->max(max);
  }
  void add(const Stats& other) {
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += other.sum[i];
    for (std::size_t i = 0; i < max.size(); ++i) max[i] = std::max(max[i], other.max[i]);
  }
};

// Global statistics accumulated over the micro-batches so far, with how many of them
// (and how many samples) each quantity came from.
struct Totals {
  Stats stats;
  double samples = 0, micro_batches = 0;
  double rs_samples = 0, r0_samples = 0, compose_micro_batches = 0;
};

double as_double(const at::Tensor& t) { return t.to(at::kDouble).item<double>(); }

// The record's statistics columns from the totals (the global values every rank logs).
void fill_statistics(StepRecord& r, const Totals& t, double world) {
  const Stats& stats = t.stats;
  const double n = t.samples;
  r.reward_mean = stats.sum[Stats::kReward] / n;
  r.reward_std = n > 1 ? std::sqrt(std::max(0.0, (stats.sum[Stats::kRewardSq] - n * r.reward_mean * r.reward_mean) /
                                                     (n - 1)))
                       : 0.0;
  if (std::isnan(stats.sum[Stats::kRewardSq])) r.reward_std = stats.sum[Stats::kRewardSq];
  // Equal slices and micro-batches: the mean of the ranks' and micro-batches' means.
  r.loss = stats.sum[Stats::kLoss] / (world * t.micro_batches);
  if (t.rs_samples > 0) {
    r.r_s_mean = stats.sum[Stats::kRs] / t.rs_samples;
    r.r_s_max = stats.max[Stats::kRsMax];
  }
  if (t.r0_samples > 0) {
    r.r_0_mean = stats.sum[Stats::kR0] / t.r0_samples;
    r.r_0_max = stats.max[Stats::kR0Max];
  }
  if (t.compose_micro_batches > 0) r.compose_err = stats.sum[Stats::kComposeErr] / (world * t.compose_micro_batches);
  r.traj_weight_min = -stats.max[Stats::kNegWeightMin];
  r.traj_weight_max = stats.max[Stats::kWeightMax];
}

// What the gradient-fidelity diagnostic keeps of the first micro-batch: its global
// draws (the sub-batch is their first rows), the ε its renoised programs drew, its plan,
// and the index stream as it stood right after that plan was drawn.
struct FirstDraws {
  at::Tensor cond, noise;
  std::map<int, at::Tensor> eps;
  Plan plan;
  std::mt19937_64 index;
};

}  // namespace

double LrSchedule::factor(std::int64_t step) const {
  const double n = static_cast<double>(step - 1);
  const double w = static_cast<double>(warmup_steps);
  if (n < w) return n / std::max(1.0, w);
  if (kind == "constant") return 1.0;
  const double span = std::max(1.0, static_cast<double>(total_steps) - w);
  double decay = 0;
  if (kind == "linear") {
    decay = std::max(0.0, (static_cast<double>(total_steps) - n) / span);
  } else if (kind == "cosine") {
    const double progress = (n - w) / span;
    decay = std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  } else {
    throw std::logic_error("unknown learning-rate schedule '" + kind + "'");
  }
  return min_ratio + (1.0 - min_ratio) * decay;
}

double ema_decay_at(double ema_decay, std::int64_t step) {
  const double n = static_cast<double>(step - 1);
  return std::min(ema_decay, (1.0 + n) / (10.0 + n));
}

StepContext step_context(const Experiment& e) {
  StepContext c;
  c.params = &e.method_params;
  c.batch = e.train.batch;
  c.guidance = e.sampling.guidance;
  c.tau = e.reward.tau;
  c.loss_scale = e.reward.loss_scale;
  c.max_grad_norm = e.train.max_grad_norm;
  c.ema_decay = e.train.ema_decay;
  c.lr = e.train.lr;
  c.lr_schedule = {e.train.lr_schedule, e.train.warmup_steps, e.train.steps, e.train.lr_min_ratio};
  c.ema_fixed = e.train.ema == "fixed";
  c.grad_accumulation = e.train.grad_accumulation;
  c.cfg_attached = e.sampling.cfg_attached;
  c.cfg_grad_compensation = e.sampling.cfg_grad_compensation;
  c.diagnostics = e.diagnostics;
  return c;
}

StepOutcome train_step(const StepContext& c, TrainingState& st, std::int64_t step) {
  StepOutcome out;
  StepRecord& r = out.record;
  r.step = step;
  r.lr = c.lr * c.lr_schedule.factor(step);
  const auto t_start = Clock::now();
  const Slice slice = slice_of(c);
  const at::Device device = c.compute.device;
  const double world = c.group ? c.group->ranks().world_size : 1;
  VelocityModel& model = *st.model;
  auto forward = [&](const at::Tensor& condition) {
    return [&, condition](const at::Tensor& x, double t) {
      AutocastRegion region(c.compute);
      return model.forward(x, t, condition).to(x.scalar_type());
    };
  };
  auto guided = [&](const at::Tensor& cond) {
    const at::Tensor null_cond = at::full_like(cond, c.latents.null_condition);
    return guided_velocity(forward(cond), forward(null_cond), c.guidance, !c.cfg_attached);
  };
  const std::int64_t micro_batches = std::max<std::int64_t>(1, c.grad_accumulation);
  // The loss is logged as it is; the gradient is the mean over micro-batches, divided by
  // the guidance scale under the authors' CFG gradient compensation.
  const bool compensate = c.cfg_grad_compensation && c.guidance > 1;
  const double backward_scale = 1.0 / (static_cast<double>(micro_batches) * (compensate ? c.guidance : 1.0));
  // The diagnostic runs on rank 0 only (it logs), on the first micro-batch.
  const bool diagnose = c.diagnostics.at(step) && (!c.group || c.group->ranks().rank == 0);
  FirstDraws first;

  Totals totals;
  double plan_seconds = 0;
  for (std::int64_t micro = 0; micro < micro_batches; ++micro) {
    const auto t_micro = Clock::now();
    // Drawn for the whole global batch on the CPU, then sliced: the same samples
    // whatever the world size or device.
    const at::Tensor cond_global = draw_conditions(*c.conditions, c.batch, st.rng.data);
    const at::Tensor noise_global = at::randn(c.latents.batch_shape(c.batch), st.rng.noise, at::kFloat);
    const at::Tensor cond = slice.of(cond_global).to(device);
    const at::Tensor noise = slice.of(noise_global).to(device);
    const VelocityFn velocity = guided(cond);

    // The plan first: it depends only on the schedule and the index stream, and it tells
    // the rollout which steps to run with gradient for the surrogate to reuse.
    const auto t_plan = Clock::now();
    PlanContext plan_context{*c.schedule, st.rng.index};
    const Plan plan = c.method->plan(*c.params, plan_context);
    const double micro_plan_seconds = since(t_plan);
    plan_seconds += micro_plan_seconds;
    if (micro == 0) {
      // The plan columns are the first micro-batch's.
      r.j = plan.j;
      r.s = plan.s;
      r.active = plan.active.empty() ? active_indices(plan) : plan.active;
      r.jacobian_depth = jacobian_depth(plan);
      r.grad_rescale_factor = plan.grad_rescale_factor;
      r.grad_rescale_factor_post = plan.grad_rescale_factor_post;
      if (diagnose) {
        first.cond = cond_global;
        first.noise = noise_global;
        first.plan = plan;
        first.index = st.rng.index;
      }
    }

    // Measured from before the rollout: with reuse, graphs exist from the rollout on.
    MemoryProbe memory(device);
    memory.start();
    const RolloutReuse reuse = c.reuse_rollout ? rollout_reuse(plan, *c.schedule) : RolloutReuse{};
    const Rollout rollout = cached_rollout(velocity, noise, *c.schedule, reuse);
    r.time_rollout += since(t_micro) - micro_plan_seconds;
    if (micro == 0) r.rollout_grad_forwards = reuse.forwards_with_grad();

    const auto t_surrogate = Clock::now();
    const bool keep_eps = diagnose && micro == 0;
    const NoiseFn renoise = [&](int stream, const at::Tensor& like) {
      std::vector<std::int64_t> global(like.sizes().begin(), like.sizes().end());
      global[0] = c.batch;
      const at::Tensor eps = at::randn(global, st.rng.noise, like.options().device(at::kCPU));
      if (keep_eps) first.eps[stream] = eps;
      return slice.of(eps).to(like.device());
    };
    const SurrogateOutput surrogate = build_surrogate(velocity, rollout, plan, renoise);
    if (micro == 0) {
      r.active_forwards = surrogate.active_forwards;
      r.reused_forwards = surrogate.reused_forwards;
    }
    std::vector<at::Tensor> rewards;
    for (const auto& input : surrogate.reward_inputs) rewards.push_back(c.reward(input, cond));
    const at::Tensor weights = trajectory_weights(plan, surrogate, slice.size);
    const at::Tensor loss = hinge_loss(rewards, weights, c.tau, c.loss_scale, plan.hinge);
    r.time_surrogate_forward += since(t_surrogate);

    Stats stats;
    {
      at::NoGradGuard no_grad;
      const at::Tensor mean_reward = at::stack(rewards).mean(0).to(at::kDouble);
      stats.sum[Stats::kReward] = mean_reward.sum().item<double>();
      stats.sum[Stats::kRewardSq] = mean_reward.pow(2).sum().item<double>();
      stats.sum[Stats::kLoss] = as_double(loss);
      if (surrogate.d_s.defined()) {
        stats.sum[Stats::kRs] = surrogate.d_s.to(at::kDouble).sum().item<double>();
        stats.max[Stats::kRsMax] = as_double(surrogate.d_s.max());
      }
      if (surrogate.d_0.defined()) {
        stats.sum[Stats::kR0] = surrogate.d_0.to(at::kDouble).sum().item<double>();
        stats.max[Stats::kR0Max] = as_double(surrogate.d_0.max());
      }
      stats.sum[Stats::kComposeErr] = surrogate.compose_err;
      stats.max[Stats::kWeightMax] = as_double(weights.max());
      stats.max[Stats::kNegWeightMin] = -as_double(weights.min());
    }
    stats.reduce(c.group);
    totals.stats.add(stats);
    totals.samples += static_cast<double>(c.batch);
    totals.micro_batches += 1;
    if (surrogate.d_s.defined()) totals.rs_samples += static_cast<double>(c.batch);
    if (surrogate.d_0.defined()) totals.r0_samples += static_cast<double>(c.batch);
    if (surrogate.compose_err >= 0) totals.compose_micro_batches += 1;
    fill_statistics(r, totals, world);
    // A NaN reward makes the loss NaN too: name the first cause.
    const double micro_reward = stats.sum[Stats::kReward], micro_loss = stats.sum[Stats::kLoss];
    if (!std::isfinite(micro_reward)) out.failure = non_finite("reward", micro_reward, step);
    else if (!std::isfinite(micro_loss)) out.failure = non_finite("loss", micro_loss, step);
    if (!out.failure.empty()) return out;

    const auto t_backward = Clock::now();
    if (micro == 0) st.optimizer->zero_grad();
    if (backward_scale == 1.0) loss.backward();
    else (loss * backward_scale).backward();
    // The rollout's latents (x_0..x_{N−1}, v_1..v_N) are its cache, linear in N by design
    // and the same with or without reuse: what is left is the graphs and the backward.
    if (micro == 0) r.rollout_cache_bytes = rollout.cache_bytes();
    const std::int64_t peak = memory.peak_growth() - rollout.cache_bytes();
    r.peak_autograd_bytes = micro == 0 ? peak : std::max(r.peak_autograd_bytes, peak);  // the largest micro-batch's
    r.time_backward += since(t_backward);
  }

  // Before the optimizer: the weights the step's gradient was taken at.
  double fidelity_seconds = 0;
  if (diagnose) {
    const std::int64_t b = c.diagnostics.exact_grad_batch;
    FidelityInput in;
    in.method = c.method;
    in.params = c.params;
    in.schedule = c.schedule;
    in.cond = first.cond.narrow(0, 0, b).to(device);
    in.noise = first.noise.narrow(0, 0, b).to(device);
    in.velocity = guided(in.cond);
    in.reward = c.reward;
    // The training step's ε for these rows; a stream it never drew (a further plan
    // needing more) from a copy of the noise stream, which itself does not move.
    in.renoise = [eps = first.eps, generator = st.rng.noise.clone()](int stream, const at::Tensor& like) mutable {
      if (auto it = eps.find(stream); it != eps.end()) return it->second.narrow(0, 0, like.size(0)).to(like.device());
      return at::randn(like.sizes(), generator, like.options().device(at::kCPU)).to(like.device());
    };
    in.tau = c.tau;
    in.loss_scale = c.loss_scale;
    in.plan = &first.plan;
    in.index = first.index;
    in.plan_draws = c.diagnostics.plan_draws;
    in.parameters = model.parameters();
    in.device = device;
    const FidelityResult f = gradient_fidelity(in);
    r.fidelity_cos = f.cos;
    r.fidelity_norm_ratio = f.norm_ratio;
    r.fidelity_bias_cos = f.bias_cos;
    r.fidelity_spread_cos = f.spread_cos;
    r.fidelity_peak_bytes = f.peak_bytes;
    r.time_fidelity = fidelity_seconds = f.seconds;
  }

  const auto t_optimizer = Clock::now();
  const std::vector<at::Tensor> params = model.parameters();
  // Before the norm: the logged pre-clip norm and the clip are the global batch's, of the
  // gradient the optimizer receives (divided by g under CFG gradient compensation).
  if (c.group) c.group->average_gradients(params);
  r.grad_norm_pre_clip = global_grad_norm(params);
  if (!std::isfinite(r.grad_norm_pre_clip)) {
    out.failure = non_finite("gradient norm", r.grad_norm_pre_clip, step);
    return out;
  }
  {
    at::NoGradGuard no_grad;
    // torch.nn.utils.clip_grad_norm_'s rule, applied after the pre-clip norm is logged.
    const double coef = c.max_grad_norm / (r.grad_norm_pre_clip + 1e-6);
    if (coef < 1)
      for (const auto& p : params)
        if (p.grad().defined()) p.grad().mul_(coef);
  }
  r.grad_norm_post_clip = global_grad_norm(params);
  for (auto& group : st.optimizer->param_groups()) group.options().set_lr(r.lr);
  st.optimizer->step();
  {
    at::NoGradGuard no_grad;
    const double d = c.ema_fixed ? c.ema_decay : ema_decay_at(c.ema_decay, step);
    const std::vector<at::Tensor> ema = st.ema->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) ema[i].mul_(d).add_(params[i], 1 - d);
  }
  r.time_optimizer = since(t_optimizer);
  // The diagnostic's time is its own column: step times stay comparable with it on or off.
  r.time_step = since(t_start) - fidelity_seconds;
  return out;
}

}  // namespace flowbp
