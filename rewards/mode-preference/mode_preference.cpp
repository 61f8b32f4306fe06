#include "mode_preference.h"

#include <algorithm>
#include <cmath>

namespace flowbp {

namespace {

// [B, P] distances from each sample to its condition's preferred modes.
at::Tensor preferred_sq_dist(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& means) {
  at::Tensor mu = means.index({cond}).to(x.scalar_type());  // [B, P, d]
  return (x.unsqueeze(1) - mu).pow(2).sum(-1);
}

at::Tensor soft_or(const at::Tensor& bumps) { return 1 - (1 - bumps).prod(1); }

}  // namespace

std::vector<SettingSpec> mode_preference_settings() {
  const ModePreferenceConfig d;
  return {
      SettingSpec::positive("width", d.width, "width of the reward bumps around preferred modes"),
      SettingSpec::real("preferred_fraction", d.preferred_fraction, 0.0, 1.0,
                        "fraction of each class's modes the reward prefers"),
  };
}

ModePreferenceConfig ModePreferenceConfig::from(const SettingValues& v) {
  ModePreferenceConfig c;
  c.width = v.get_real("width");
  c.preferred_fraction = v.get_real("preferred_fraction");
  return c;
}

ModePreferenceReward::ModePreferenceReward(const GaussianMixture& mixture, const ModePreferenceConfig& config)
    : width_(config.width) {
  const int m = mixture.modes_per_class;
  preferred_ = std::clamp(static_cast<int>(std::lround(config.preferred_fraction * m)), 1, m);
  preferred_means_ = mixture.means.narrow(1, 0, preferred_).contiguous();
}

at::Tensor ModePreferenceReward::operator()(const at::Tensor& x, const at::Tensor& cond) const {
  at::Tensor d2 = preferred_sq_dist(x, cond, preferred_means_);
  return soft_or(at::exp(d2 * (-0.5 / (width_ * width_))));
}

std::vector<std::string> mode_preference_evaluator_columns() {
  return {"ood_laplace", "ood_nearest", "ood_preferred_mass"};
}

std::vector<double> mode_preference_evaluators(const GaussianMixture& mixture, const ModePreferenceReward& reward,
                                               const at::Tensor& x_in, const at::Tensor& cond) {
  at::NoGradGuard no_grad;
  const at::Tensor x = x_in.to(at::kDouble);
  const at::Tensor prefs = reward.preferred_means().to(at::kDouble);
  at::Tensor d_pref = preferred_sq_dist(x, cond, prefs).sqrt();  // [B, P]
  at::Tensor laplace = soft_or(at::exp(-d_pref / reward.width()));
  at::Tensor nearest = at::exp(-std::get<0>(d_pref.min(1)) / mixture.spacing);
  at::Tensor d_all = (x.unsqueeze(1) - mixture.means.index({cond}).to(at::kDouble)).pow(2).sum(-1);
  at::Tensor which = std::get<1>(d_all.min(1));  // nearest mode of the sample's own class
  at::Tensor on_preferred = (which < reward.preferred_per_class()).to(at::kDouble);
  return {laplace.mean().item<double>(), nearest.mean().item<double>(), on_preferred.mean().item<double>()};
}

}  // namespace flowbp
