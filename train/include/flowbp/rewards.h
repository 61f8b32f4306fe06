// Rewards on the toy backbone: the differentiable in-domain reward the methods
// optimise, and the evaluators that make reward hacking visible (out-of-domain
// rewards that are related but different, exact data log-density, mode coverage).
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "flowbp/experiment.h"
#include "flowbp/toy_backbone.h"

namespace flowbp {

// "mode-preference": each condition prefers the first P = max(1, round(f·M)) of its
// M modes (f = preferred_fraction). R(x, c) = 1 − Π_k (1 − exp(−‖x − μ_k‖² / 2w²))
// over the preferred modes μ_k, w = width: a smooth "soft or" of Gaussian bumps,
// in [0, 1], 1 exactly at a preferred mode's centre.
class ModePreferenceReward {
 public:
  ModePreferenceReward(const GaussianMixture& mixture, const RewardConfig& config);

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

struct MetricColumn {
  std::string name;
  bool lower_is_better = false;
};

// The eval table's metric columns, in order (docs/LOG_FORMAT.md "/eval"):
// reward, reward_std, ood_laplace, ood_nearest, ood_preferred_mass, quality_logp,
// mode_coverage.
const std::vector<MetricColumn>& eval_metric_columns();

// Scores samples drawn for the given conditions. Out-of-domain evaluators:
//  ood_laplace         the same soft-or with Laplace kernels exp(−‖x − μ‖ / w): heavier tails
//  ood_nearest         exp(−min_k ‖x − μ_k‖ / spacing): distance to the nearest preferred mode
//  ood_preferred_mass  fraction of samples whose nearest mode of their class is a preferred one
// quality_logp is the exact log p(x | c); mode_coverage the fraction of a class's modes
// holding at least 10% of a uniform share of its samples within 3σ√d, averaged over classes.
class Evaluator {
 public:
  Evaluator(const GaussianMixture& mixture, const ModePreferenceReward& reward);
  // One value per eval_metric_columns() entry.
  std::vector<double> score(const at::Tensor& x, const at::Tensor& cond) const;

 private:
  const GaussianMixture& mixture_;
  const ModePreferenceReward& reward_;
};

}  // namespace flowbp
