// The built-in toy backbone: a class-conditional Gaussian mixture whose density is
// known in closed form, and an MLP velocity model pre-trained on it by flow matching
// (docs/METHODS.md §1) and cached on disk.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <string>

#include "flowbp/gaussian_mixture.h"
#include "flowbp/settings.h"
#include "flowbp/velocity_model.h"

namespace flowbp {

// Pre-training draws from a fixed seed so that the cache key (the settings) fully
// determines the model.
constexpr std::uint64_t kPretrainSeed = 7;

// backbone.* of kind "toy-gmm", by name (toy_settings() declares them).
struct ToyConfig {
  int dim = 2, classes = 4, modes_per_class = 4;
  double mode_std = 0.15;
  int hidden = 128, layers = 3, time_embed = 32;
  std::int64_t pretrain_steps = 3000, pretrain_batch = 256;
  double pretrain_lr = 2e-3, p_uncond = 0.1;
  std::string t_sampling = "uniform";

  static ToyConfig from(const SettingValues& settings);
  GaussianMixture mixture() const;
};

// The kind's settings, defaults as ToyConfig's.
std::vector<SettingSpec> toy_settings();

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

ToyVelocityNet make_velocity_net(const ToyConfig& config);

struct PretrainReport {
  double final_loss = 0;  // mean flow-matching loss over the last 10% of steps
  double seconds = 0;
};

// Flow matching: x_t = (1 − t)·x_0 + t·ε, target ε − x_0, condition dropped with
// probability p_uncond, t uniform or logit-normal; AdamW with cosine decay.
PretrainReport pretrain(ToyVelocityNet& net, const GaussianMixture& mixture, const ToyConfig& config,
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

// 16 hex digits over every setting of the kind.
std::string backbone_cache_key(const ToyConfig& config);

// The pre-trained backbone from <cache_dir>/toy-gmm-<key>.bin, pre-training and
// writing it (atomically) when the file is absent or fails its checks.
ToyBackbone load_or_pretrain(const ToyConfig& config, const std::string& cache_dir,
                             BackboneLoadInfo* info = nullptr);

// The toy MLP behind the VelocityModel interface; `config` rebuilds it for clone().
std::shared_ptr<VelocityModel> wrap_toy(ToyVelocityNet net, const ToyConfig& config);
// The toy MLP inside a model from wrap_toy; throws std::logic_error for another kind.
ToyVelocityNet& toy_net(VelocityModel& model);

// The quality metrics that need only the mixture, in this order:
//  quality_logp   the mean exact log p(x | c)
//  mode_coverage  the fraction of a class's modes holding at least a tenth of a fair share
//                 of its samples within 3σ√d of their centre, averaged over the classes present
std::vector<std::string> toy_quality_columns();
std::vector<double> toy_quality(const GaussianMixture& mixture, const at::Tensor& x, const at::Tensor& cond);

}  // namespace flowbp
