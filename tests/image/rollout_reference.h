// Euler from t = 1 to 0 on the uniform grid, written out: what sample() must match.
#pragma once
#include <ATen/ATen.h>

#include <functional>

namespace flowbp::testing {

inline at::Tensor reference_euler(const std::function<at::Tensor(const at::Tensor&, double)>& v,
                                  const at::Tensor& noise, int steps) {
  at::NoGradGuard no_grad;
  at::Tensor x = noise;
  for (int i = steps; i >= 1; --i) {
    const double t = static_cast<double>(i) / steps, dt = 1.0 / steps;
    x = x - dt * v(x, t);
  }
  return x;
}

}  // namespace flowbp::testing
