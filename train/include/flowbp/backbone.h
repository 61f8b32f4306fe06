// The generator a run trains and what scores it, whatever the backbone: the
// built-in toy (closed-form mixture, its reward and evaluators) or the user's
// TorchScript velocity and reward modules (docs/TORCHSCRIPT.md).
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flowbp/experiment.h"
#include "flowbp/rewards.h"
#include "flowbp/velocity_model.h"

namespace flowbp {

struct LatentSpec {
  std::vector<std::int64_t> shape;     // one sample's shape
  std::int64_t null_condition = -1;    // the condition of guidance's unconditional branch; −1: none
  LatentSpec() = default;
  LatentSpec(std::vector<std::int64_t> sample_shape, std::int64_t null_id);
  LatentSpec(const GaussianMixture& toy);  // NOLINT: the toy's latents, {dim} with null id = classes
  std::vector<std::int64_t> batch_shape(std::int64_t batch) const;
};

// R(x, c), differentiable in x; float [B].
using RewardFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& cond)>;
// Evaluation metrics of samples x drawn for conditions cond, one per metric column.
using ScoreFn = std::function<std::vector<double>(const at::Tensor& x, const at::Tensor& cond)>;

struct Backbone {
  std::shared_ptr<VelocityModel> base;  // the pre-trained model, on the run's device
  LatentSpec latents;
  RewardFn reward;
  std::vector<MetricColumn> metrics;    // the /eval metric columns
  ScoreFn score;
  std::string cache_key;                // the toy's cache key; "" for TorchScript models
  std::string note;                     // one line for the progress output
  std::shared_ptr<const void> owner;    // keeps what reward and score refer to alive
};

// The toy (loaded from its cache or pre-trained) or the TorchScript models (loaded and
// probed: errors name the file, what was expected and what came back), on `device`.
Backbone load_backbone(const Experiment& experiment, const std::string& cache_dir, const c10::Device& device);

}  // namespace flowbp
