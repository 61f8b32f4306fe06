#include "flowbp/train_step.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "flowbp/memory.h"
#include "flowbp/rollout.h"
#include "flowbp/surrogate.h"
#include "flowbp/velocity.h"

namespace flowbp {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

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

  const at::Tensor cond = draw_conditions(c.conditions, c.batch, st.rng.data);
  const at::Tensor null_cond = at::full_like(cond, c.mixture.null_condition());
  const at::Tensor noise = at::randn({c.batch, c.mixture.dim}, st.rng.noise, at::kFloat);
  ToyVelocityNet& net = st.model;
  const VelocityFn velocity =
      guided_velocity([&](const at::Tensor& x, double t) { return net->forward(x, t, cond); },
                      [&](const at::Tensor& x, double t) { return net->forward(x, t, null_cond); }, c.guidance);
  const Rollout rollout = cached_rollout(velocity, noise, c.schedule);
  r.time_rollout = since(t_start);

  PlanContext plan_context{c.schedule, st.rng.index};
  const Plan plan = c.method.plan(c.params, plan_context);
  r.j = plan.j;
  r.s = plan.s;
  r.active = plan.active.empty() ? active_indices(plan) : plan.active;
  r.jacobian_depth = jacobian_depth(plan);
  r.grad_rescale_factor = plan.grad_rescale_factor;

  const auto t_surrogate = Clock::now();
  const std::int64_t baseline = memory::current_bytes();
  memory::reset_peak();
  const NoiseFn renoise = [&](int, const at::Tensor& like) {
    return at::randn(like.sizes(), st.rng.noise, like.options());
  };
  const SurrogateOutput surrogate = build_surrogate(velocity, rollout, plan, renoise);
  std::vector<at::Tensor> rewards;
  for (const auto& input : surrogate.reward_inputs) rewards.push_back(c.reward(input, cond));
  const at::Tensor weights = trajectory_weights(plan, surrogate, c.batch);
  const at::Tensor loss = hinge_loss(rewards, weights, c.tau, c.loss_scale);
  r.time_surrogate_forward = since(t_surrogate);

  {
    at::NoGradGuard no_grad;
    const at::Tensor mean_reward = at::stack(rewards).mean(0).to(at::kDouble);
    r.reward_mean = mean_reward.mean().item<double>();
    r.reward_std = c.batch > 1 ? mean_reward.std().item<double>() : 0.0;
    if (surrogate.d_s.defined()) {
      r.r_s_mean = surrogate.d_s.mean().item<double>();
      r.r_s_max = surrogate.d_s.max().item<double>();
    }
    if (surrogate.d_0.defined()) {
      r.r_0_mean = surrogate.d_0.mean().item<double>();
      r.r_0_max = surrogate.d_0.max().item<double>();
    }
    if (surrogate.compose_err >= 0) r.compose_err = surrogate.compose_err;
    r.traj_weight_min = weights.min().item<double>();
    r.traj_weight_max = weights.max().item<double>();
    r.loss = loss.item<double>();
  }
  // A NaN reward makes the loss NaN too: name the first cause.
  if (!std::isfinite(r.reward_mean)) out.failure = non_finite("reward", r.reward_mean, step);
  else if (!std::isfinite(r.loss)) out.failure = non_finite("loss", r.loss, step);
  if (!out.failure.empty()) return out;

  const auto t_backward = Clock::now();
  st.optimizer->zero_grad();
  loss.backward();
  r.peak_autograd_bytes = memory::peak_bytes() - baseline;
  r.time_backward = since(t_backward);

  const auto t_optimizer = Clock::now();
  const std::vector<at::Tensor> params = st.model->parameters();
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
