// The velocity field the engine integrates: v(x, t) for a batch with its
// conditioning already bound. Gradient flows through it when grad mode is on.
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>

namespace flowbp {

using VelocityFn = std::function<at::Tensor(const at::Tensor& x, double t)>;

// Classifier-free guidance v = v_u + g·(v_c − v_u), with the unconditional branch
// computed without gradient as in the paper ("we detach the negative branch"), or with
// it (detach_negative = false: the authors' cfg_detach_neg = false, sampling.cfg_negative
// = "attached"), on the same input x either way. g = 1 calls only the conditional branch.
VelocityFn guided_velocity(std::function<at::Tensor(const at::Tensor& x, double t)> conditional,
                           std::function<at::Tensor(const at::Tensor& x, double t)> unconditional,
                           double guidance, bool detach_negative = true);

}  // namespace flowbp
