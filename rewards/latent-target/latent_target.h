// reward.kind = "latent-target": a differentiable reward for samples of any shape and
// any backbone, needing no data: each condition c has a fixed random target T_c, and
// R(x, c) = −mean((x − T_c)²). It exists for the scaling runs (a random-weight DiT on a
// 64×64×16 latent), where only the cost of the methods matters, not what they learn.
#pragma once
#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

namespace flowbp {

class LatentTargetReward {
 public:
  // T_c = scale·(a_c + P)/√2 with a_c ~ N(0, 1) per condition and one pattern P ~ N(0, 1)
  // of the sample's shape, drawn from `seed` on the CPU (the same targets on every
  // device), kept on `device`. Memory: conditions + one sample, whatever the conditions.
  LatentTargetReward(const std::vector<std::int64_t>& shape, std::int64_t conditions, double scale,
                     std::uint64_t seed, const c10::Device& device);
  // Float [B], differentiable in x (float32 under autocast).
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& cond) const;
  // The targets of `cond`, [B, shape…].
  at::Tensor targets(const at::Tensor& cond) const;
  // Mean cosine similarity of each x to its T_c (an /eval value).
  double mean_cosine(const at::Tensor& x, const at::Tensor& cond) const;

 private:
  at::Tensor offsets_;  // [conditions]
  at::Tensor pattern_;  // [shape…]
  double scale_;
};

}  // namespace flowbp
