#include "ink_reward.h"

#include <stdexcept>

namespace flowbp {

void InkRewardConfig::validate(std::int64_t classes) const {
  auto bad = [](const std::string& what) { throw std::invalid_argument("ink-coverage reward: " + what); };
  auto in_unit = [](double v) { return v > 0 && v < 1; };
  if (!in_unit(target)) bad("target must be in (0, 1)");
  if (!class_targets.empty() && static_cast<std::int64_t>(class_targets.size()) != classes)
    bad("class_targets needs one value per class (" + std::to_string(classes) + "), got " +
        std::to_string(class_targets.size()));
  for (double t : class_targets)
    if (!in_unit(t)) bad("every class target must be in (0, 1)");
  if (!(softness > 0)) bad("softness must be positive");
  if (!(sharpness > 0)) bad("sharpness must be positive");
}

InkCoverageReward::InkCoverageReward(InkRewardConfig config, std::int64_t classes) : config_(std::move(config)) {
  config_.validate(classes);
  std::vector<float> t(static_cast<std::size_t>(classes), static_cast<float>(config_.target));
  for (std::size_t i = 0; i < config_.class_targets.size(); ++i) t[i] = static_cast<float>(config_.class_targets[i]);
  targets_ = at::tensor(t, at::kFloat);
}

at::Tensor InkCoverageReward::ink(const at::Tensor& x) const {
  return at::sigmoid(x.to(at::kFloat) * config_.sharpness).flatten(1).mean(1);
}

at::Tensor InkCoverageReward::operator()(const at::Tensor& x, const at::Tensor& cond) const {
  at::Tensor target = targets_.to(x.device()).index_select(0, cond.to(x.device(), at::kLong));
  const double d = config_.softness;
  return d - ((ink(x) - target).pow(2) + d * d).sqrt();
}

}  // namespace flowbp
