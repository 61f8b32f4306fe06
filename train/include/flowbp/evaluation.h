// Periodic evaluation: eval.steps-step sampling of the held-out conditions from
// FIXED noise (eval.noise_seed), so every row of /eval, the base model's
// reference row included, scores the same draws; guided by eval.guidance, on the
// run's time shift for eval.steps steps. For image backbones a fixed subset of those
// samples is the sample grid the log keeps beside each /eval row.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "flowbp/reward.h"
#include "flowbp/compute.h"
#include "flowbp/experiment.h"
#include "flowbp/run_log.h"

namespace flowbp {

// The metrics: the in-domain reward's mean and spread, the reward kind's evaluators,
// then the backbone kind's quality metrics.
class EvalSuite {
 public:
  EvalSuite(const Experiment& experiment, const Backbone& backbone, const Reward& reward, const Compute& compute);
  const std::vector<MetricColumn>& metrics() const { return metrics_; }
  // One value per metric, for the model as it is (no gradient); the samples scored
  // go to *samples when given.
  std::vector<double> evaluate(VelocityModel& model, at::Tensor* samples = nullptr) const;
  // The sample grid: the first kGridPerCondition samples of each of the first
  // kGridConditions held-out conditions, as images. Empty when the backbone's samples
  // are not images.
  static constexpr std::int64_t kGridPerCondition = 8, kGridConditions = 16;
  const SampleGridSpec& grid_spec() const { return grid_; }
  // The grid's pixels out of evaluate()'s samples (SampleGridSpec::bytes() of them).
  std::vector<std::uint8_t> grid_pixels(const at::Tensor& samples) const;
  // The samples themselves (for tests and figures).
  at::Tensor sample(VelocityModel& model) const;
  const at::Tensor& conditions() const { return cond_; }

 private:
  const Backbone& backbone_;
  const Reward& reward_;
  std::vector<MetricColumn> metrics_;
  Compute compute_;
  int steps_;
  double shift_, guidance_;
  at::Tensor cond_, noise_;
  SampleGridSpec grid_;
  at::Tensor grid_rows_;  // int64: which samples form the grid
};

// The /eval columns: step and is_base, then the metrics.
std::vector<ColumnSpec> eval_columns(const std::vector<MetricColumn>& metrics);

}  // namespace flowbp
