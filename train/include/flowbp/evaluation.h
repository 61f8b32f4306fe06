// Periodic evaluation: eval.steps-step sampling of the held-out conditions from
// FIXED noise (eval.noise_seed), so every row of /eval, the base model's
// reference row included, scores the same draws.
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "flowbp/experiment.h"
#include "flowbp/rewards.h"
#include "flowbp/toy_backbone.h"

namespace flowbp {

class EvalSuite {
 public:
  EvalSuite(const Experiment& experiment, const GaussianMixture& mixture, const ModePreferenceReward& reward);
  // One value per eval_metric_columns() entry, for the model as it is (no gradient).
  std::vector<double> evaluate(ToyVelocityNet& net) const;
  // The samples themselves (for tests and figures).
  at::Tensor sample(ToyVelocityNet& net) const;
  const at::Tensor& conditions() const { return cond_; }

 private:
  const GaussianMixture& mixture_;
  Evaluator evaluator_;
  int steps_;
  double shift_, guidance_;
  at::Tensor cond_, noise_;
};

// The /eval columns: step and is_base, then the metrics.
std::vector<ColumnSpec> eval_columns();

}  // namespace flowbp
