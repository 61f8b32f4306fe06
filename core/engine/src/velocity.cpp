#include "flowbp/velocity.h"

#include <ATen/ATen.h>

namespace flowbp {

VelocityFn guided_velocity(std::function<at::Tensor(const at::Tensor&, double)> conditional,
                           std::function<at::Tensor(const at::Tensor&, double)> unconditional,
                           double guidance) {
  if (guidance == 1.0 || !unconditional) return conditional;
  return [conditional = std::move(conditional), unconditional = std::move(unconditional), guidance](
             const at::Tensor& x, double t) {
    at::Tensor v_u;
    {
      at::NoGradGuard no_grad;  // the paper detaches the negative branch
      v_u = unconditional(x, t);
    }
    at::Tensor v_c = conditional(x, t);
    return v_u + (v_c - v_u) * guidance;
  };
}

}  // namespace flowbp
