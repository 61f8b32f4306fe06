// The held-out evaluator: a classifier of another architecture (evaluator-wide)
// trained on the half of the training images the reward classifier never saw,
// scoring samples by class accuracy (alignment), its log p(c | x) (the out-of-domain
// reward), FID against the 10,000 test images in its feature space (quality) and
// the mean pairwise feature distance within a class (diversity).
#pragma once
#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>

#include "flowbp/backbone.h"
#include "flowbp/image_classifier.h"
#include "flowbp/image_dataset.h"
#include "flowbp/image_metrics.h"

namespace flowbp {

struct ImageEvalScores {
  double accuracy = 0;     // fraction of samples the evaluator assigns to their prompted class
  double ood_reward = 0;   // mean log p_eval(c | x)
  double fid = 0;          // Fréchet distance to the test images' features (lower is better)
  double diversity = 0;    // class_diversity of the samples' features (higher is more diverse)
  std::int64_t samples = 0;
};

class HeldOutEvaluator {
 public:
  HeldOutEvaluator(ImageClassifier net, FeatureStats test_stats, double test_accuracy);

  // Samples x [n, C, H, W] drawn for cond int64 [n]; no gradient, chunks of `batch`.
  // FID needs n ≥ 2 (it is biased upwards for small n: compare equal n).
  ImageEvalScores score(const at::Tensor& x, const at::Tensor& cond, std::int64_t batch = 500) const;
  // The out-of-domain reward log p_eval(c | x), differentiable in x, float [B].
  at::Tensor ood_reward(const at::Tensor& x, const at::Tensor& cond) const { return log_prob_(x, cond); }
  // Its mean over the samples, without gradient, in chunks of `batch` (an /eval value).
  double mean_ood_reward(const at::Tensor& x, const at::Tensor& cond, std::int64_t batch = 500) const;
  // Penultimate features [n, feature_dim], no gradient.
  at::Tensor features(const at::Tensor& x, std::int64_t batch = 500) const;

  const FeatureStats& test_stats() const { return test_stats_; }
  double test_accuracy() const { return test_accuracy_; }  // on the test split, stored with the weights
  ImageClassifier& net() const { return log_prob_.net(); }

 private:
  ClassifierLogProbReward log_prob_;
  FeatureStats test_stats_;
  double test_accuracy_;
};

// What the image backbone kind shares with the image reward kinds (its Domain): the
// data and the held-out evaluator it loaded for its quality metrics, which the reward
// kinds reuse for their out-of-domain column (one evaluator per run, on the run's device).
class ImageDomain final : public Domain {
 public:
  std::shared_ptr<const ImageDataset> data;
  std::shared_ptr<const HeldOutEvaluator> evaluator;
};

struct EvaluatorLoadInfo {
  ClassifierLoadInfo classifier;
  std::string stats_path;     // <cache_dir>/image-eval-stats-<key>.bin
  bool stats_from_cache = false;
  std::string stats_rejected;
};

// The evaluator classifier (load_or_train_classifier with `config`, by default
// evaluator_recipe()) and the test images' feature statistics, each cached in a
// sealed file. Throws std::invalid_argument when config.split is not disjoint from
// `reward_split` (the split the alignment reward's classifier learned from).
HeldOutEvaluator load_or_train_evaluator(const ImageDataset& data, const std::string& cache_dir,
                                         EvaluatorLoadInfo* info = nullptr,
                                         const ClassifierTrainConfig& config = evaluator_recipe(),
                                         TrainSplit reward_split = TrainSplit::kFirstHalf,
                                         const c10::Device& device = c10::Device(c10::kCPU), bool progress = true);

}  // namespace flowbp
