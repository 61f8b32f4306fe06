#include "flowbp/grad_ops.h"

#include <ATen/ATen.h>

namespace flowbp {

at::Tensor grad_scale(const at::Tensor& u, double kappa) {
  if (kappa == 1.0) return u;
  const at::Tensor frozen = u.detach();
  if (kappa == 0.0) return frozen;
  // sg(u) + κ·(u − sg(u)) rather than κu + (1−κ)sg(u): the bracket is exactly zero
  // in the forward pass, so the value stays bit-identical to u.
  return frozen + (u - frozen) * kappa;
}

at::Tensor connector(const at::Tensor& cached, const at::Tensor& estimate) {
  return cached.detach() + (estimate - estimate.detach());
}

at::Tensor residual_per_sample(const at::Tensor& cached, const at::Tensor& estimate) {
  at::NoGradGuard no_grad;
  at::Tensor r = (cached.to(at::kDouble) - estimate.detach().to(at::kDouble)).abs();
  return r.reshape({r.size(0), -1}).mean(1);
}

}  // namespace flowbp
