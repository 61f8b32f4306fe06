#include "flowbp/rewards.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace flowbp {

namespace {

// [B, P] distances from each sample to its condition's preferred modes.
at::Tensor preferred_sq_dist(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& means) {
  at::Tensor mu = means.index({cond}).to(x.scalar_type());  // [B, P, d]
  return (x.unsqueeze(1) - mu).pow(2).sum(-1);
}

at::Tensor soft_or(const at::Tensor& bumps) { return 1 - (1 - bumps).prod(1); }

}  // namespace

ModePreferenceReward::ModePreferenceReward(const GaussianMixture& mixture, const RewardConfig& config)
    : width_(config.width) {
  if (config.kind != "mode-preference")
    throw std::invalid_argument("reward.kind: unknown reward '" + config.kind + "' (the toy has mode-preference)");
  const int m = mixture.modes_per_class;
  preferred_ = std::clamp(static_cast<int>(std::lround(config.preferred_fraction * m)), 1, m);
  preferred_means_ = mixture.means.narrow(1, 0, preferred_).contiguous();
}

at::Tensor ModePreferenceReward::operator()(const at::Tensor& x, const at::Tensor& cond) const {
  at::Tensor d2 = preferred_sq_dist(x, cond, preferred_means_);
  return soft_or(at::exp(d2 * (-0.5 / (width_ * width_))));
}

const std::vector<MetricColumn>& eval_metric_columns() {
  static const std::vector<MetricColumn> columns = {
      {"reward", false},      {"reward_std", false},   {"ood_laplace", false},  {"ood_nearest", false},
      {"ood_preferred_mass", false}, {"quality_logp", false}, {"mode_coverage", false},
  };
  return columns;
}

Evaluator::Evaluator(const GaussianMixture& mixture, const ModePreferenceReward& reward)
    : mixture_(mixture), reward_(reward) {}

std::vector<double> Evaluator::score(const at::Tensor& x_in, const at::Tensor& cond) const {
  at::NoGradGuard no_grad;
  const at::Tensor x = x_in.to(at::kDouble);
  const at::Tensor prefs = reward_.preferred_means().to(at::kDouble);
  at::Tensor r = reward_(x, cond);
  at::Tensor d_pref = preferred_sq_dist(x, cond, prefs).sqrt();  // [B, P]
  at::Tensor laplace = soft_or(at::exp(-d_pref / reward_.width()));
  at::Tensor nearest = at::exp(-std::get<0>(d_pref.min(1)) / mixture_.spacing);

  at::Tensor d_all = (x.unsqueeze(1) - mixture_.means.index({cond}).to(at::kDouble)).pow(2).sum(-1).sqrt();
  auto [d_min, which] = d_all.min(1);  // nearest mode of the sample's own class
  at::Tensor on_preferred = (which < reward_.preferred_per_class()).to(at::kDouble);

  // Coverage per class: a mode counts when it holds a tenth of a fair share of
  // the class's samples within 3σ√d of its centre.
  const double radius = 3.0 * mixture_.mode_std * std::sqrt(static_cast<double>(mixture_.dim));
  at::Tensor hit = d_min < radius;
  double coverage = 0;
  int classes_seen = 0;
  for (int c = 0; c < mixture_.classes; ++c) {
    at::Tensor mine = cond == c;
    const int64_t n = mine.sum().item<int64_t>();
    if (n == 0) continue;
    at::Tensor counts = at::bincount(which.masked_select(mine & hit), {}, mixture_.modes_per_class);
    const double need = 0.1 * static_cast<double>(n) / mixture_.modes_per_class;
    coverage += (counts.to(at::kDouble) >= std::max(1.0, need)).to(at::kDouble).mean().item<double>();
    ++classes_seen;
  }
  return {r.mean().item<double>(),
          x.size(0) > 1 ? r.std().item<double>() : 0.0,
          laplace.mean().item<double>(),
          nearest.mean().item<double>(),
          on_preferred.mean().item<double>(),
          mixture_.log_density(x, cond).mean().item<double>(),
          classes_seen ? coverage / classes_seen : 0.0};
}

}  // namespace flowbp
