#include "flowbp/train_step.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "flowbp/clock.h"
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
};

double as_double(const at::Tensor& t) { return t.to(at::kDouble).item<double>(); }

}  // namespace

double ema_decay_at(double ema_decay, std::int64_t step) {
  const double n = static_cast<double>(step - 1);
  return std::min(ema_decay, (1.0 + n) / (10.0 + n));
}

StepOutcome train_step(const StepContext& c, TrainingState& st, std::int64_t step) {
  StepOutcome out;
  StepRecord& r = out.record;
  r.step = step;
  r.lr = c.lr;
  const auto t_start = Clock::now();
  const Slice slice = slice_of(c);
  const at::Device device = c.compute.device;

  // Drawn for the whole global batch on the CPU, then sliced: the same samples
  // whatever the world size or device.
  const at::Tensor cond = slice.of(draw_conditions(*c.conditions, c.batch, st.rng.data)).to(device);
  const at::Tensor null_cond = at::full_like(cond, c.latents.null_condition);
  const at::Tensor noise = slice.of(at::randn(c.latents.batch_shape(c.batch), st.rng.noise, at::kFloat)).to(device);
  VelocityModel& model = *st.model;
  auto forward = [&](const at::Tensor& condition) {
    return [&, condition](const at::Tensor& x, double t) {
      AutocastRegion region(c.compute);
      return model.forward(x, t, condition).to(x.scalar_type());
    };
  };
  const VelocityFn velocity = guided_velocity(forward(cond), forward(null_cond), c.guidance);

  // The plan first: it depends only on the schedule and the index stream, and it tells
  // the rollout which steps to run with gradient for the surrogate to reuse.
  const auto t_plan = Clock::now();
  PlanContext plan_context{*c.schedule, st.rng.index};
  const Plan plan = c.method->plan(*c.params, plan_context);
  const double plan_seconds = since(t_plan);
  r.j = plan.j;
  r.s = plan.s;
  r.active = plan.active.empty() ? active_indices(plan) : plan.active;
  r.jacobian_depth = jacobian_depth(plan);
  r.grad_rescale_factor = plan.grad_rescale_factor;
  r.grad_rescale_factor_post = plan.grad_rescale_factor_post;

  // Measured from before the rollout: with reuse, graphs exist from the rollout on.
  MemoryProbe memory(device);
  memory.start();
  const RolloutReuse reuse = c.reuse_rollout ? rollout_reuse(plan, *c.schedule) : RolloutReuse{};
  const Rollout rollout = cached_rollout(velocity, noise, *c.schedule, reuse);
  r.time_rollout = since(t_start) - plan_seconds;
  r.rollout_grad_forwards = reuse.forwards_with_grad();

  const auto t_surrogate = Clock::now();
  const NoiseFn renoise = [&](int, const at::Tensor& like) {
    std::vector<std::int64_t> global(like.sizes().begin(), like.sizes().end());
    global[0] = c.batch;
    return slice.of(at::randn(global, st.rng.noise, like.options().device(at::kCPU))).to(like.device());
  };
  const SurrogateOutput surrogate = build_surrogate(velocity, rollout, plan, renoise);
  r.active_forwards = surrogate.active_forwards;
  r.reused_forwards = surrogate.reused_forwards;
  std::vector<at::Tensor> rewards;
  for (const auto& input : surrogate.reward_inputs) rewards.push_back(c.reward(input, cond));
  const at::Tensor weights = trajectory_weights(plan, surrogate, slice.size);
  const at::Tensor loss = hinge_loss(rewards, weights, c.tau, c.loss_scale, plan.hinge);
  r.time_surrogate_forward = since(t_surrogate);

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
  const double n = static_cast<double>(c.batch);
  const double world = c.group ? c.group->ranks().world_size : 1;
  r.reward_mean = stats.sum[Stats::kReward] / n;
  r.reward_std = c.batch > 1 ? std::sqrt(std::max(0.0, (stats.sum[Stats::kRewardSq] - n * r.reward_mean * r.reward_mean) /
                                                         (n - 1)))
                             : 0.0;
  if (std::isnan(stats.sum[Stats::kRewardSq])) r.reward_std = stats.sum[Stats::kRewardSq];
  r.loss = stats.sum[Stats::kLoss] / world;  // equal slices: the mean of the ranks' means
  if (surrogate.d_s.defined()) {
    r.r_s_mean = stats.sum[Stats::kRs] / n;
    r.r_s_max = stats.max[Stats::kRsMax];
  }
  if (surrogate.d_0.defined()) {
    r.r_0_mean = stats.sum[Stats::kR0] / n;
    r.r_0_max = stats.max[Stats::kR0Max];
  }
  if (surrogate.compose_err >= 0) r.compose_err = stats.sum[Stats::kComposeErr] / world;
  r.traj_weight_min = -stats.max[Stats::kNegWeightMin];
  r.traj_weight_max = stats.max[Stats::kWeightMax];
  // A NaN reward makes the loss NaN too: name the first cause.
  if (!std::isfinite(r.reward_mean)) out.failure = non_finite("reward", r.reward_mean, step);
  else if (!std::isfinite(r.loss)) out.failure = non_finite("loss", r.loss, step);
  if (!out.failure.empty()) return out;

  const auto t_backward = Clock::now();
  st.optimizer->zero_grad();
  loss.backward();
  // The rollout's latents (x_0..x_{N−1}, v_1..v_N) are its cache, linear in N by design
  // and the same with or without reuse: what is left is the graphs and the backward.
  r.rollout_cache_bytes = rollout.cache_bytes();
  r.peak_autograd_bytes = memory.peak_growth() - r.rollout_cache_bytes;
  r.time_backward = since(t_backward);

  const auto t_optimizer = Clock::now();
  const std::vector<at::Tensor> params = model.parameters();
  // Before the norm: the logged pre-clip norm and the clip are the global batch's.
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
  st.optimizer->step();
  {
    at::NoGradGuard no_grad;
    const double d = ema_decay_at(c.ema_decay, step);
    const std::vector<at::Tensor> ema = st.ema->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) ema[i].mul_(d).add_(params[i], 1 - d);
  }
  r.time_optimizer = since(t_optimizer);
  r.time_step = since(t_start);
  return out;
}

}  // namespace flowbp
