// The cached no-grad rollout (docs/METHODS.md §1): all N Euler steps, keeping
// {x_i} and {v_i}, never activations.
#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

#include "flowbp/schedule.h"
#include "flowbp/velocity.h"

namespace flowbp {

struct Rollout {
  Schedule schedule;
  std::vector<at::Tensor> x;  // x[i], i = 0..N; x[N] is the noise
  std::vector<at::Tensor> v;  // v[i], i = 1..N; v[0] is undefined
  int steps() const { return schedule.steps(); }
};

// One Euler step x_{i−1} = x_i − Δ_i·v_i, written once so the surrogate's
// reconstruction reproduces the rollout bit for bit.
at::Tensor euler_update(const at::Tensor& state, const at::Tensor& velocity, double weight);

Rollout cached_rollout(const VelocityFn& velocity, const at::Tensor& noise, const Schedule& schedule);

}  // namespace flowbp
