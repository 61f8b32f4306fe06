#include "flowbp/velocity.h"

#include <ATen/ATen.h>

namespace flowbp {

VelocityFn guided_velocity(std::function<at::Tensor(const at::Tensor&, double)> conditional,
                           std::function<at::Tensor(const at::Tensor&, double)> unconditional,
                           double guidance, bool detach_negative) {
  if (guidance == 1.0 || !unconditional) return conditional;
  return [conditional = std::move(conditional), unconditional = std::move(unconditional), guidance,
          detach_negative](const at::Tensor& x, double t) {
    at::Tensor v_u;
    if (detach_negative) {
      at::NoGradGuard no_grad;  // the paper detaches the negative branch
      v_u = unconditional(x, t);
    } else {
      v_u = unconditional(x, t);  // the authors' cfg_detach_neg = false: gradient through both branches
    }
    at::Tensor v_c = conditional(x, t);
    return v_u + (v_c - v_u) * guidance;
  };
}

}  // namespace flowbp
