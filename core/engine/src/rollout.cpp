#include "flowbp/rollout.h"

#include <ATen/ATen.h>

namespace flowbp {

at::Tensor euler_update(const at::Tensor& state, const at::Tensor& velocity, double weight) {
  return state - velocity * weight;
}

Rollout cached_rollout(const VelocityFn& velocity, const at::Tensor& noise, const Schedule& schedule) {
  at::NoGradGuard no_grad;
  Rollout r;
  r.schedule = schedule;
  const int n = schedule.steps();
  r.x.resize(static_cast<std::size_t>(n) + 1);
  r.v.resize(static_cast<std::size_t>(n) + 1);
  r.x[n] = noise.detach();
  for (int i = n; i >= 1; --i) {
    r.v[i] = velocity(r.x[i], schedule.t[i]);
    r.x[i - 1] = euler_update(r.x[i], r.v[i], schedule.dt(i));
  }
  return r;
}

}  // namespace flowbp
