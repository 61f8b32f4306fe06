// Image classifiers trained by the harness on part of the training split, frozen,
// and cached under a hash of their settings in a sealed, checksummed file: the
// alignment reward's CNN and the held-out evaluator (another architecture, trained
// on the disjoint other half). Device-agnostic, usable under bf16 autocast.
#pragma once
#include <ATen/ATen.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "flowbp/image_dataset.h"

namespace flowbp {

enum class ClassifierArch {
  // "reward-cnn": 3×3 convs 32→64→64 with SiLU and average pooling, flatten, FC 128
  // (SiLU), FC classes. Smooth activations and pooling: smooth gradients in x.
  kRewardCnn,
  // "evaluator-wide": 5×5 conv 48, 3×3 convs 96→128→128, each with GroupNorm (8
  // groups) and ReLU, 2×2 max pooling twice, then an overlapping 3×3/stride-2 max
  // pooling (7×7 → 3×3), FC 128 (ReLU; the feature layer of FID/diversity), FC classes.
  kEvaluatorWide,
};
std::string arch_name(ClassifierArch arch);
ClassifierArch parse_arch(const std::string& name);  // throws std::invalid_argument

class ImageClassifierImpl : public torch::nn::Module {
 public:
  ImageClassifierImpl(ClassifierArch arch, std::int64_t channels, std::int64_t image_size, std::int64_t classes);
  // The penultimate layer, [B, feature_dim()]: the feature space of FID and diversity.
  at::Tensor features(const at::Tensor& x);
  // Logits [B, classes]; x [B, C, H, W] in [-1, 1].
  at::Tensor forward(const at::Tensor& x);
  // The last layer alone: logits of features() output.
  at::Tensor logits_from_features(const at::Tensor& features);
  std::int64_t feature_dim() const { return feature_dim_; }
  ClassifierArch arch() const { return arch_; }

 private:
  ClassifierArch arch_;
  std::int64_t feature_dim_ = 128;
  torch::nn::ModuleList convs_, norms_;  // norms_: evaluator-wide only
  torch::nn::Linear fc_{nullptr}, head_{nullptr};
};
TORCH_MODULE(ImageClassifier);

// Which half of the training images a classifier learns from. The two halves are
// disjoint by index: first = [0, n/2), second = [n/2, n).
enum class TrainSplit { kFirstHalf, kSecondHalf, kAll };
std::string split_name(TrainSplit split);

struct ClassifierTrainConfig {
  ClassifierArch arch = ClassifierArch::kRewardCnn;
  TrainSplit split = TrainSplit::kFirstHalf;
  std::int64_t steps = 0, batch = 0;
  double lr = 0, weight_decay = 0;
  std::int64_t train_limit = 0;  // 0: the whole split; n: its first n images (tests)
  std::uint64_t seed = 1;

  void validate() const;         // throws std::invalid_argument naming the setting
  std::string describe() const;  // every field, for cache keys
};

// The alignment reward's classifier: reward-cnn on the first half.
ClassifierTrainConfig reward_classifier_recipe();
// The held-out evaluator: evaluator-wide on the second half (disjoint from the reward's).
ClassifierTrainConfig evaluator_recipe();

// The training images of a split (a view, no copy).
at::Tensor split_images(const ImageDataset& data, TrainSplit split);
at::Tensor split_labels(const ImageDataset& data, TrainSplit split);

struct ClassifierReport {
  double final_loss = 0;     // mean cross-entropy over the last 10% of the steps
  double test_accuracy = 0;  // on the whole test split
  double seconds = 0;
};

// Cross-entropy, AdamW with linear warm-up (5%) and cosine decay; draws from
// config.seed alone. Leaves the network in eval mode.
ClassifierReport train_classifier(ImageClassifier& net, const ImageDataset& data, const ClassifierTrainConfig& config,
                                  const c10::Device& device = c10::Device(c10::kCPU), bool progress = true,
                                  std::FILE* progress_out = stderr);

// Top-1 accuracy on (images, labels), in chunks, without gradient.
double classifier_accuracy(ImageClassifier& net, const at::Tensor& images, const at::Tensor& labels,
                           std::int64_t batch = 500);

// 16 hex digits over every setting and the data set's fingerprint.
std::string classifier_cache_key(const ClassifierTrainConfig& config, const ImageDataset& data);

struct ClassifierLoadInfo {
  std::string path, key;
  bool from_cache = false;     // true: read from the cache or the shipped copy (path says which)
  bool shipped = false;        // read from the shipped copy (shipped_models_dir())
  std::string rejected;        // why files that were there were not trusted ("" if none was)
  double test_accuracy = 0;    // stored with the weights
  double final_loss = 0;
  double train_seconds = 0;
  double seconds = 0;          // this call
};

// <cache_dir>/image-classifier-<arch>-<key>.bin (else the shipped copy, see
// flowbp/model_cache.h), trained and written atomically when neither is there or
// passes its checks. Returned frozen (no parameter requires grad), eval
// mode, on `device`.
ImageClassifier load_or_train_classifier(const ClassifierTrainConfig& config, const ImageDataset& data,
                                         const std::string& cache_dir, ClassifierLoadInfo* info = nullptr,
                                         const c10::Device& device = c10::Device(c10::kCPU), bool progress = true);

// requires_grad(false) on every parameter (gradients left by training dropped) and
// eval mode: gradients reach x only.
void freeze(ImageClassifier& net);

// R(x, c) = log p(c | x) = log_softmax(classifier(x))[c], in (−∞, 0], by a frozen
// classifier: the alignment reward (the reward CNN) and the held-out evaluator's
// out-of-domain reward. cond int64 [B] in [0, classes): the null class has no
// reward. Differentiable in x; float [B] (float32 under bf16 autocast).
class ClassifierLogProbReward {
 public:
  explicit ClassifierLogProbReward(ImageClassifier net);
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& cond) const;
  // The full log-softmax [B, classes] (for evaluators that need the argmax too).
  at::Tensor log_probs(const at::Tensor& x) const;
  ImageClassifier& net() const { return net_; }

 private:
  mutable ImageClassifier net_;
};

}  // namespace flowbp
