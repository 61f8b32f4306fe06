// The gradient-fidelity diagnostic (docs/LOG_FORMAT.md, the fidelity_* columns): on a
// sub-batch of a training step — the same conditions, noise and reward — the exact
// gradient of the true objective (full backprop through the whole rollout, the reward
// on the true sample), the method's surrogate gradient for the step's own plan, and,
// for plan_draws R > 1, the gradients of R further plans drawn from a copy of the index
// stream: the cosine and norm ratio of the method's gradient against the exact one, the
// cosine of the R gradients' mean against it (bias) and their mean pairwise cosine
// (spread). Nothing here touches the parameters' .grad, the optimizer or the training
// streams: a run logs the same training numbers with the diagnostic on or off.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <random>
#include <vector>

#include "flowbp/backbone.h"
#include "flowbp/method.h"
#include "flowbp/rollout.h"
#include "flowbp/surrogate.h"

namespace flowbp {

// The reference: one program from the noise x_N chaining all N Euler steps with gradient
// (full backprop's plan with K = N), the reward on x_0, no trajectory weighting.
Plan exact_gradient_plan(const Schedule& schedule);

// ∇_θ of the plan's hinge loss (as the training step forms it: trajectory weights,
// hinge over the reward inputs, batch mean) over a rollout, flattened over `params` in
// float64; parameters the loss does not reach count as zero. The parameters' .grad
// are left as they are.
at::Tensor plan_gradient(const VelocityFn& velocity, const Rollout& rollout, const Plan& plan, const NoiseFn& noise,
                         const RewardFn& reward, const at::Tensor& cond, double tau, double loss_scale,
                         const std::vector<at::Tensor>& params);

// a·b / (‖a‖·‖b‖); NaN when either is zero.
double cosine(const at::Tensor& a, const at::Tensor& b);

struct FidelityInput {
  const Method* method = nullptr;
  const SettingValues* params = nullptr;
  const Schedule* schedule = nullptr;
  VelocityFn velocity;   // with the sub-batch's conditions bound, guided as in training
  RewardFn reward;
  at::Tensor cond;       // the sub-batch's conditions
  at::Tensor noise;      // its x_N
  NoiseFn renoise;       // the ε the training step drew for these samples (DRaFT-LV's targets)
  double tau = 0, loss_scale = 1;
  const Plan* plan = nullptr;          // the training step's plan
  std::mt19937_64 index;               // a COPY of the index stream: the R draws come from it
  std::int64_t plan_draws = 0;         // R; 0 or 1: no bias and spread
  std::vector<at::Tensor> parameters;  // the model's trainable parameters
  c10::Device device = c10::Device(c10::kCPU);
};

struct FidelityResult {
  double cos = 0, norm_ratio = 0;  // the step's plan against the exact gradient
  double bias_cos = 0, spread_cos = 0;  // NaN without plan draws
  std::int64_t peak_bytes = 0;     // allocated above the start, through the diagnostic
  double seconds = 0;
};

FidelityResult gradient_fidelity(FidelityInput& input);

}  // namespace flowbp
