#include "latent_target.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace flowbp {

LatentTargetReward::LatentTargetReward(const std::vector<std::int64_t>& shape, std::int64_t conditions, double scale,
                                       std::uint64_t seed, const c10::Device& device)
    : scale_(scale) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  offsets_ = at::randn({conditions}, gen, at::kFloat).to(device);
  pattern_ = at::randn(shape, gen, at::kFloat).to(device);
}

at::Tensor LatentTargetReward::targets(const at::Tensor& cond) const {
  at::Tensor a = offsets_.index_select(0, cond.to(offsets_.device(), at::kLong));
  std::vector<std::int64_t> view(static_cast<std::size_t>(pattern_.dim()) + 1, 1);
  view[0] = a.size(0);
  return (a.view(view) + pattern_.unsqueeze(0)) * (scale_ / std::sqrt(2.0));
}

at::Tensor LatentTargetReward::operator()(const at::Tensor& x, const at::Tensor& cond) const {
  at::Tensor t = targets(cond).to(x.device());
  return -(x.to(at::kFloat) - t).pow(2).flatten(1).mean(1);
}

double LatentTargetReward::mean_cosine(const at::Tensor& x, const at::Tensor& cond) const {
  at::NoGradGuard no_grad;
  at::Tensor t = targets(cond).to(x.device()).flatten(1);
  return at::cosine_similarity(x.detach().to(at::kFloat).flatten(1), t, 1).to(at::kDouble).mean().item<double>();
}

}  // namespace flowbp
