// reward.kind = "mode-preference", the toy's in-domain reward, and its out-of-domain
// evaluators (rewards related to it but different), so reward hacking is visible.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "flowbp/gaussian_mixture.h"
#include "flowbp/settings.h"

namespace flowbp {

// reward.* of kind "mode-preference", by name.
struct ModePreferenceConfig {
  double width = 0.3;               // width w of the bumps around preferred modes
  double preferred_fraction = 0.5;  // fraction f of each class's modes preferred
  static ModePreferenceConfig from(const SettingValues& settings);
};

std::vector<SettingSpec> mode_preference_settings();

// Each condition prefers the first P = max(1, round(f·M)) of its M modes.
// R(x, c) = 1 − Π_k (1 − exp(−‖x − μ_k‖² / 2w²)) over the preferred modes μ_k: a
// smooth "soft or" of Gaussian bumps, in [0, 1], 1 exactly at a preferred mode's centre.
class ModePreferenceReward {
 public:
  ModePreferenceReward(const GaussianMixture& mixture, const ModePreferenceConfig& config);

  // Differentiable in x; float [B].
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& cond) const;

  int preferred_per_class() const { return preferred_; }
  const at::Tensor& preferred_means() const { return preferred_means_; }  // [C, P, d]
  double width() const { return width_; }

 private:
  int preferred_;
  double width_;
  at::Tensor preferred_means_;
};

// The evaluators' /eval columns: ood_laplace, ood_nearest, ood_preferred_mass.
//  ood_laplace         the same soft-or with Laplace kernels exp(−‖x − μ‖ / w): heavier tails
//  ood_nearest         exp(−min_k ‖x − μ_k‖ / spacing): distance to the nearest preferred mode
//  ood_preferred_mass  fraction of samples whose nearest mode of their class is a preferred one
std::vector<std::string> mode_preference_evaluator_columns();
std::vector<double> mode_preference_evaluators(const GaussianMixture& mixture, const ModePreferenceReward& reward,
                                               const at::Tensor& x, const at::Tensor& cond);

}  // namespace flowbp
