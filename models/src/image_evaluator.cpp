#include "flowbp/image_evaluator.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "flowbp/files.h"
#include "flowbp/model_cache.h"
#include "flowbp/sealed_file.h"

namespace flowbp {

namespace {

bool disjoint(TrainSplit a, TrainSplit b) {
  return (a == TrainSplit::kFirstHalf && b == TrainSplit::kSecondHalf) ||
         (a == TrainSplit::kSecondHalf && b == TrainSplit::kFirstHalf);
}

}  // namespace

HeldOutEvaluator::HeldOutEvaluator(ImageClassifier net, FeatureStats test_stats, double test_accuracy)
    : log_prob_(std::move(net)), test_stats_(std::move(test_stats)), test_accuracy_(test_accuracy) {}

at::Tensor HeldOutEvaluator::features(const at::Tensor& x, std::int64_t batch) const {
  at::NoGradGuard no_grad;
  const c10::Device device = net()->parameters().front().device();
  std::vector<at::Tensor> parts;
  for (std::int64_t s = 0; s < x.size(0); s += batch) {
    const std::int64_t len = std::min(batch, x.size(0) - s);
    parts.push_back(net()->features(x.narrow(0, s, len).to(device)).to(at::kFloat));
  }
  return at::cat(parts);
}

double HeldOutEvaluator::mean_ood_reward(const at::Tensor& x, const at::Tensor& cond, std::int64_t batch) const {
  at::NoGradGuard no_grad;
  const c10::Device device = net()->parameters().front().device();
  double sum = 0;
  for (std::int64_t s = 0; s < x.size(0); s += batch) {
    const std::int64_t len = std::min(batch, x.size(0) - s);
    sum += log_prob_(x.narrow(0, s, len).to(device), cond.narrow(0, s, len).to(device)).to(at::kDouble).sum().item<double>();
  }
  return x.size(0) > 0 ? sum / static_cast<double>(x.size(0)) : 0.0;
}

ImageEvalScores HeldOutEvaluator::score(const at::Tensor& x, const at::Tensor& cond, std::int64_t batch) const {
  at::NoGradGuard no_grad;
  const c10::Device device = net()->parameters().front().device();
  const std::int64_t n = x.size(0);
  ImageEvalScores s;
  s.samples = n;
  std::vector<at::Tensor> feats;
  double right = 0, log_p = 0;
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::int64_t len = std::min(batch, n - start);
    at::Tensor xb = x.narrow(0, start, len).to(device);
    at::Tensor cb = cond.narrow(0, start, len).to(device, at::kLong);
    at::Tensor f = net()->features(xb);
    feats.push_back(f.to(at::kFloat));
    at::Tensor lp = at::log_softmax(net()->logits_from_features(f).to(at::kFloat), 1);
    right += lp.argmax(1).eq(cb).sum().item<double>();
    log_p += lp.gather(1, cb.unsqueeze(1)).sum().item<double>();
  }
  at::Tensor f = at::cat(feats);
  s.accuracy = right / static_cast<double>(n);
  s.ood_reward = log_p / static_cast<double>(n);
  s.fid = frechet_distance(feature_stats(f), test_stats_);
  s.diversity = class_diversity(f, cond);
  return s;
}

HeldOutEvaluator load_or_train_evaluator(const ImageDataset& data, const std::string& cache_dir,
                                         EvaluatorLoadInfo* info, const ClassifierTrainConfig& config,
                                         TrainSplit reward_split, const c10::Device& device, bool progress) {
  if (!disjoint(config.split, reward_split))
    throw std::invalid_argument("held-out evaluator: its split (" + split_name(config.split) +
                                ") must be disjoint from the reward classifier's (" + split_name(reward_split) +
                                "): use first_half and second_half");
  EvaluatorLoadInfo local;
  EvaluatorLoadInfo& out = info ? *info : local;
  out = EvaluatorLoadInfo{};
  ImageClassifier net = load_or_train_classifier(config, data, cache_dir, &out.classifier, device, progress);
  const std::string name = "image-eval-stats-" + out.classifier.key + ".bin";
  out.stats_path = cache_dir + "/" + name;
  const std::string tag = "image evaluator test statistics " + out.classifier.key;
  FeatureStats stats;
  CachedModel found;
  if (read_cached_model(cache_dir, name, tag, found)) {
    const std::string& payload = found.payload;
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(payload.data(), payload.size());
      at::Tensor count;
      archive.read("mean", stats.mean);
      archive.read("cov", stats.cov);
      archive.read("count", count);
      stats.count = count.item<std::int64_t>();
      out.stats_from_cache = true;
      out.stats_path = found.path;
    } catch (const std::exception& ex) {
      found.rejected += (found.rejected.empty() ? "" : "; ") + found.path + ": unreadable statistics: " + ex.what();
    }
  }
  HeldOutEvaluator evaluator(net, FeatureStats{}, out.classifier.test_accuracy);
  if (!out.stats_from_cache) {
    // Seconds of work, not minutes: recomputed without a build lock (two writers write the same bytes).
    out.stats_rejected = found.rejected;
    stats = feature_stats(evaluator.features(data.test_images));
    torch::serialize::OutputArchive archive;
    archive.write("mean", stats.mean);
    archive.write("cov", stats.cov);
    archive.write("count", at::scalar_tensor(stats.count, at::kLong));
    std::ostringstream bytes;
    archive.save_to(bytes);
    make_dirs(cache_dir);
    write_sealed_file(out.stats_path, tag, bytes.str());
  }
  return HeldOutEvaluator(net, stats, out.classifier.test_accuracy);
}

}  // namespace flowbp
