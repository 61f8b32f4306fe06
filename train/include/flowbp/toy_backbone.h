// The built-in toy backbone (HARNESS "backbones"): a class-conditional Gaussian
// mixture whose density is known in closed form, and an MLP velocity model
// pre-trained on it by flow matching (METHODS.md §1) and cached on disk.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <string>

#include "flowbp/experiment.h"
#include "flowbp/velocity_model.h"

namespace flowbp {

// Mode placement and pre-training draw from fixed seeds so that the cache key
// (the backbone settings) fully determines the model.
constexpr std::uint64_t kMixtureSeed = 20260101;
constexpr std::uint64_t kPretrainSeed = 7;

struct GaussianMixture {
  int dim = 0, classes = 0, modes_per_class = 0;
  double mode_std = 0;
  double spacing = 0;  // distance between neighbouring lattice points
  at::Tensor means;    // [classes, modes_per_class, dim], float32

  // Modes on a centred lattice (in the first min(dim, 3) coordinates), a seeded
  // shuffle of its points dealt out to the classes: well separated, deterministic.
  static GaussianMixture make(const BackboneConfig& config, std::uint64_t seed = kMixtureSeed);

  int null_condition() const { return classes; }
  // x_0 ~ p(x | c) for each condition in `cond` (int64 [B]).
  at::Tensor sample(const at::Tensor& cond, at::Generator& gen) const;
  // Exact log p(x | c), float64 [B].
  at::Tensor log_density(const at::Tensor& x, const at::Tensor& cond) const;
};

// v_θ(x, t, c): sinusoidal time embedding and a condition embedding (row `classes`
// is the null condition for guidance) concatenated with x, then an MLP.
class ToyVelocityNetImpl : public torch::nn::Module {
 public:
  ToyVelocityNetImpl(int dim, int classes, int hidden, int layers, int time_embed);
  // One time for the whole batch (the sampler's case).
  at::Tensor forward(const at::Tensor& x, double t, const at::Tensor& cond);
  // A time per sample (pre-training), float32 [B].
  at::Tensor forward_times(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond);

 private:
  at::Tensor time_features(const at::Tensor& t) const;
  int time_embed_;
  at::Tensor freqs_;  // buffer: geometric frequencies of the time embedding
  torch::nn::Embedding cond_embed_{nullptr};
  torch::nn::ModuleList hidden_;
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(ToyVelocityNet);

ToyVelocityNet make_velocity_net(const BackboneConfig& config);

struct PretrainReport {
  double final_loss = 0;  // mean flow-matching loss over the last 10% of steps
  double seconds = 0;
};

// Flow matching: x_t = (1 − t)·x_0 + t·ε, target ε − x_0, condition dropped with
// probability p_uncond, t uniform or logit-normal; AdamW with cosine decay.
PretrainReport pretrain(ToyVelocityNet& net, const GaussianMixture& mixture, const BackboneConfig& config,
                        std::uint64_t seed = kPretrainSeed);

struct ToyBackbone {
  GaussianMixture mixture;
  ToyVelocityNet net{nullptr};
};

struct BackboneLoadInfo {
  std::string path;        // the cache file
  bool from_cache = false; // false: pre-trained now (first use, or the cache was rejected)
  std::string rejected;    // why an existing cache file was not trusted ("" if none was there)
  double seconds = 0;
};

// 16 hex digits over every backbone setting except cache_dir.
std::string backbone_cache_key(const BackboneConfig& config);

// The pre-trained backbone from <cache_dir>/toy-gmm-<key>.bin, pre-training and
// writing it (atomically) when the file is absent or fails its checks.
ToyBackbone load_or_pretrain(const BackboneConfig& config, const std::string& cache_dir,
                             BackboneLoadInfo* info = nullptr);

// The toy MLP behind the VelocityModel interface; `config` rebuilds it for clone().
std::shared_ptr<VelocityModel> wrap_toy(ToyVelocityNet net, const BackboneConfig& config);
// The toy MLP inside a model from wrap_toy; throws std::logic_error for another kind.
ToyVelocityNet& toy_net(VelocityModel& model);

}  // namespace flowbp
