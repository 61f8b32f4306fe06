// Stop-gradient algebra of docs/METHODS.md §1–2. Each keeps the forward value exact.
#pragma once
#include <ATen/core/Tensor.h>

namespace flowbp {

// gs(u; κ): forward value u (exactly), backward multiplied by κ.
at::Tensor grad_scale(const at::Tensor& u, double kappa);

// Straight-through connector x̃_k = x_k + (x̂_k − sg(x̂_k)): forward x_k, ∂x̃/∂x̂ = I.
at::Tensor connector(const at::Tensor& cached, const at::Tensor& estimate);

// d_k = mean|x_k − x̂_k| per sample, in float64: shape [B].
at::Tensor residual_per_sample(const at::Tensor& cached, const at::Tensor& estimate);

}  // namespace flowbp
