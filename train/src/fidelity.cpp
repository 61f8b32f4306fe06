#include "flowbp/fidelity.h"

#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <limits>

#include "flowbp/clock.h"
#include "flowbp/compute.h"
#include "flowbp/plan_builders.h"

namespace flowbp {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double l2(const at::Tensor& a) { return a.norm().item<double>(); }

}  // namespace

Plan exact_gradient_plan(const Schedule& schedule) {
  const int n = schedule.steps();
  std::vector<int> all;
  for (int i = n; i >= 1; --i) all.push_back(i);
  Segment chain = plan_builders::euler_segment(schedule, n, 0, all, Pin::None);
  for (auto& term : chain.terms) term.input = VelocityInput::Chain;
  Program program = plan_builders::cached_program(n);
  program.segments.push_back(std::move(chain));
  Plan plan;
  plan.programs.push_back(std::move(program));
  plan_builders::finish(plan);
  return plan;
}

at::Tensor plan_gradient(const VelocityFn& velocity, const Rollout& rollout, const Plan& plan, const NoiseFn& noise,
                         const RewardFn& reward, const at::Tensor& cond, double tau, double loss_scale,
                         const std::vector<at::Tensor>& params) {
  const SurrogateOutput out = build_surrogate(velocity, rollout, plan, noise);
  std::vector<at::Tensor> rewards;
  for (const auto& input : out.reward_inputs) rewards.push_back(reward(input, cond));
  const at::Tensor weights = trajectory_weights(plan, out, cond.size(0));
  const at::Tensor loss = hinge_loss(rewards, weights, tau, loss_scale, plan.hinge);
  std::vector<at::Tensor> grads(params.size());
  if (loss.requires_grad())
    grads = torch::autograd::grad({loss}, params, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                  /*create_graph=*/false, /*allow_unused=*/true);
  std::vector<at::Tensor> flat;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& g = grads[i];
    flat.push_back(g.defined() ? g.detach().to(at::kDouble).reshape({-1})
                               : at::zeros({params[i].numel()}, params[i].options().dtype(at::kDouble)));
  }
  return flat.empty() ? at::zeros({0}, at::kDouble) : at::cat(flat);
}

double cosine(const at::Tensor& a, const at::Tensor& b) {
  const double na = l2(a), nb = l2(b);
  if (!(na > 0) || !(nb > 0)) return kNaN;
  return (a * b).sum().item<double>() / (na * nb);
}

FidelityResult gradient_fidelity(FidelityInput& in) {
  const auto t0 = Clock::now();
  FidelityResult r;
  MemoryProbe memory(in.device);
  memory.start();
  // The sub-batch's own cached rollout: the same values as the training step's rows
  // (each sample's rollout depends on its own noise and condition only).
  const Rollout rollout = cached_rollout(in.velocity, in.noise, *in.schedule);
  auto gradient = [&](const Plan& plan) {
    return plan_gradient(in.velocity, rollout, plan, in.renoise, in.reward, in.cond, in.tau, in.loss_scale,
                         in.parameters);
  };
  const at::Tensor exact = gradient(exact_gradient_plan(*in.schedule));
  const at::Tensor method = gradient(*in.plan);
  const double exact_norm = l2(exact);
  r.cos = cosine(method, exact);
  r.norm_ratio = exact_norm > 0 ? l2(method) / exact_norm : kNaN;
  r.bias_cos = r.spread_cos = kNaN;
  if (in.plan_draws > 1) {
    const double R = static_cast<double>(in.plan_draws);
    at::Tensor sum = at::zeros_like(exact), unit_sum = at::zeros_like(exact);
    bool all_nonzero = true;
    for (std::int64_t k = 0; k < in.plan_draws; ++k) {
      PlanContext context{*in.schedule, in.index};
      const at::Tensor g = gradient(in.method->plan(*in.params, context));
      sum += g;
      const double n = l2(g);
      if (n > 0) unit_sum += g / n;
      else all_nonzero = false;
    }
    r.bias_cos = cosine(sum, exact);
    // Mean pairwise cosine of R unit vectors u_k: (‖Σ u_k‖² − R) / (R(R − 1)).
    if (all_nonzero) {
      const double s = l2(unit_sum);
      r.spread_cos = (s * s - R) / (R * (R - 1));
    }
  }
  r.peak_bytes = memory.peak_growth();
  r.seconds = since(t0);
  return r;
}

}  // namespace flowbp
