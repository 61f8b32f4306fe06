// The toy backbone's data, shared with the rewards that score its samples (the
// mode-preference reward reads the modes; its evaluators the exact density): a
// class-conditional Gaussian mixture whose density is known in closed form.
#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "flowbp/backbone.h"

namespace flowbp {

// Mode placement draws from a fixed seed so that the settings fully determine the modes.
constexpr std::uint64_t kMixtureSeed = 20260101;

class GaussianMixture final : public Domain {
 public:
  int dim = 0, classes = 0, modes_per_class = 0;
  double mode_std = 0;
  double spacing = 0;  // distance between neighbouring lattice points
  at::Tensor means;    // [classes, modes_per_class, dim], float32

  // Modes on a centred lattice (in the first min(dim, 3) coordinates), a seeded
  // shuffle of its points dealt out to the classes: well separated, deterministic.
  static GaussianMixture make(int dim, int classes, int modes_per_class, double mode_std,
                              std::uint64_t seed = kMixtureSeed);

  int null_condition() const { return classes; }
  // x_0 ~ p(x | c) for each condition in `cond` (int64 [B]).
  at::Tensor sample(const at::Tensor& cond, at::Generator& gen) const;
  // Exact log p(x | c), float64 [B].
  at::Tensor log_density(const at::Tensor& x, const at::Tensor& cond) const;
};

}  // namespace flowbp
