#include "flowbp/image_classifier.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "flowbp/files.h"
#include "flowbp/model_archive.h"
#include "flowbp/model_cache.h"
#include "flowbp/clock.h"
#include "flowbp/progress.h"
#include "flowbp/sealed_file.h"

namespace flowbp {

namespace {

constexpr double kPi = 3.14159265358979323846;

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t k) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).padding(k / 2));
}

}  // namespace

std::string arch_name(ClassifierArch arch) {
  return arch == ClassifierArch::kRewardCnn ? "reward-cnn" : "evaluator-wide";
}

ClassifierArch parse_arch(const std::string& name) {
  if (name == "reward-cnn") return ClassifierArch::kRewardCnn;
  if (name == "evaluator-wide") return ClassifierArch::kEvaluatorWide;
  throw std::invalid_argument("classifier architecture '" + name + "': expected \"reward-cnn\" or \"evaluator-wide\"");
}

std::string split_name(TrainSplit split) {
  switch (split) {
    case TrainSplit::kFirstHalf: return "first_half";
    case TrainSplit::kSecondHalf: return "second_half";
    case TrainSplit::kAll: return "all";
  }
  return "?";
}

ImageClassifierImpl::ImageClassifierImpl(ClassifierArch arch, std::int64_t channels, std::int64_t image_size,
                                         std::int64_t classes)
    : arch_(arch) {
  if (image_size % 4 != 0)
    throw std::invalid_argument("image classifier: image_size = " + std::to_string(image_size) +
                                " must be a multiple of 4 (two 2×2 poolings)");
  const std::int64_t pooled = image_size / 4;
  if (arch == ClassifierArch::kRewardCnn) {
    convs_->push_back(conv(channels, 32, 3));
    convs_->push_back(conv(32, 64, 3));
    convs_->push_back(conv(64, 64, 3));
    fc_ = torch::nn::Linear(64 * pooled * pooled, feature_dim_);
  } else {
    const std::int64_t widths[] = {48, 96, 128, 128}, kernels[] = {5, 3, 3, 3};
    std::int64_t in = channels;
    for (int i = 0; i < 4; ++i) {
      convs_->push_back(conv(in, widths[i], kernels[i]));
      norms_->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(8, widths[i])));
      in = widths[i];
    }
    const std::int64_t pooled3 = (pooled - 3) / 2 + 1;  // 3×3 max-pool, stride 2: 7 → 3
    fc_ = torch::nn::Linear(128 * pooled3 * pooled3, feature_dim_);
    register_module("norms", norms_);
  }
  register_module("convs", convs_);
  register_module("fc", fc_);
  head_ = register_module("head", torch::nn::Linear(feature_dim_, classes));
}

at::Tensor ImageClassifierImpl::features(const at::Tensor& x) {
  auto c = [this](std::size_t i, const at::Tensor& h) { return convs_[i]->as<torch::nn::Conv2d>()->forward(h); };
  if (arch_ == ClassifierArch::kRewardCnn) {
    at::Tensor h = at::avg_pool2d(at::silu(c(0, x)), {2, 2});
    h = at::avg_pool2d(at::silu(c(1, h)), {2, 2});
    h = at::silu(c(2, h));
    return at::silu(fc_->forward(h.flatten(1)));
  }
  auto block = [&](std::size_t i, const at::Tensor& h) {
    // GroupNorm in its weights' dtype: LibTorch 1.13's CPU kernel refuses bf16 input with
    // float weights, which is what CPU autocast hands it (CUDA autocast runs it in float).
    auto* norm = norms_[i]->as<torch::nn::GroupNorm>();
    return at::relu(norm->forward(c(i, h).to(norm->weight.scalar_type())));
  };
  at::Tensor h = at::max_pool2d(block(0, x), {2, 2});
  h = at::max_pool2d(block(1, h), {2, 2});
  h = at::max_pool2d(block(3, block(2, h)), {3, 3}, {2, 2});
  return at::relu(fc_->forward(h.flatten(1)));
}

at::Tensor ImageClassifierImpl::forward(const at::Tensor& x) { return head_->forward(features(x)); }

at::Tensor ImageClassifierImpl::logits_from_features(const at::Tensor& features) { return head_->forward(features); }

void ClassifierTrainConfig::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument("image classifier training: " + what); };
  if (steps <= 0) bad("steps must be positive");
  if (batch <= 0) bad("batch must be positive");
  if (!(lr > 0)) bad("lr must be positive");
  if (!(weight_decay >= 0)) bad("weight_decay must be >= 0");
  if (train_limit < 0) bad("train_limit must be >= 0");
}

std::string ClassifierTrainConfig::describe() const {
  std::ostringstream s;
  s.precision(17);
  s << "arch=" << arch_name(arch) << " split=" << split_name(split) << " steps=" << steps << " batch=" << batch
    << " lr=" << lr << " weight_decay=" << weight_decay << " train_limit=" << train_limit << " seed=" << seed;
  return s.str();
}

ClassifierTrainConfig reward_classifier_recipe() {
  ClassifierTrainConfig c;
  c.arch = ClassifierArch::kRewardCnn;
  c.split = TrainSplit::kFirstHalf;
  c.steps = 1200;
  c.batch = 64;
  c.lr = 2e-3;
  c.weight_decay = 1e-4;
  c.seed = 101;
  return c;
}

ClassifierTrainConfig evaluator_recipe() {
  ClassifierTrainConfig c;
  c.arch = ClassifierArch::kEvaluatorWide;
  c.split = TrainSplit::kSecondHalf;
  c.steps = 1200;
  c.batch = 64;
  c.lr = 2e-3;
  c.weight_decay = 1e-4;
  c.seed = 202;
  return c;
}

at::Tensor split_images(const ImageDataset& data, TrainSplit split) {
  const std::int64_t n = data.train_images.size(0), half = n / 2;
  switch (split) {
    case TrainSplit::kFirstHalf: return data.train_images.narrow(0, 0, half);
    case TrainSplit::kSecondHalf: return data.train_images.narrow(0, half, n - half);
    case TrainSplit::kAll: break;
  }
  return data.train_images;
}

at::Tensor split_labels(const ImageDataset& data, TrainSplit split) {
  const std::int64_t n = data.train_labels.size(0), half = n / 2;
  switch (split) {
    case TrainSplit::kFirstHalf: return data.train_labels.narrow(0, 0, half);
    case TrainSplit::kSecondHalf: return data.train_labels.narrow(0, half, n - half);
    case TrainSplit::kAll: break;
  }
  return data.train_labels;
}

double classifier_accuracy(ImageClassifier& net, const at::Tensor& images, const at::Tensor& labels,
                           std::int64_t batch) {
  at::NoGradGuard no_grad;
  const c10::Device device = net->parameters().front().device();
  const std::int64_t n = images.size(0);
  std::int64_t right = 0;
  for (std::int64_t s = 0; s < n; s += batch) {
    const std::int64_t len = std::min(batch, n - s);
    at::Tensor pred = net->forward(images.narrow(0, s, len).to(device)).argmax(1);
    right += pred.eq(labels.narrow(0, s, len).to(device)).sum().item<std::int64_t>();
  }
  return n > 0 ? static_cast<double>(right) / static_cast<double>(n) : 0.0;
}

ClassifierReport train_classifier(ImageClassifier& net, const ImageDataset& data, const ClassifierTrainConfig& config,
                                  const c10::Device& device, bool progress, std::FILE* progress_out) {
  const auto start = Clock::now();
  config.validate();
  at::Tensor images = split_images(data, config.split), labels = split_labels(data, config.split);
  if (config.train_limit > 0 && config.train_limit < images.size(0)) {
    images = images.narrow(0, 0, config.train_limit);
    labels = labels.narrow(0, 0, config.train_limit);
  }
  const std::int64_t n = images.size(0);
  if (n == 0) throw std::invalid_argument("image classifier training: no training images in " + data.source);
  net->to(device);
  net->train();
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  const std::int64_t steps = config.steps, window = std::max<std::int64_t>(1, steps / 10);
  const std::int64_t warmup = std::max<std::int64_t>(1, steps / 20);
  Progress bar("training " + arch_name(config.arch), steps, 0, progress, progress_out);
  double tail = 0, smooth = std::nan("");
  for (std::int64_t step = 0; step < steps; ++step) {
    const double lr = step < warmup ? config.lr * static_cast<double>(step + 1) / static_cast<double>(warmup)
                                    : config.lr * 0.5 * (1 + std::cos(kPi * static_cast<double>(step - warmup) /
                                                                      static_cast<double>(steps - warmup)));
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    at::Generator gen = at::detail::createCPUGenerator(mix_seed(config.seed, static_cast<std::uint64_t>(step)));
    at::Tensor idx = at::randint(n, {config.batch}, gen, at::kLong);
    at::Tensor loss = at::cross_entropy_loss(net->forward(images.index_select(0, idx.to(images.device())).to(device)),
                                             labels.index_select(0, idx.to(labels.device())).to(device));
    opt.zero_grad();
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    if (step >= steps - window) tail += l;
    smooth = std::isnan(smooth) ? l : 0.95 * smooth + 0.05 * l;
    bar.update(step + 1, smooth, 0.0);
  }
  bar.finish();
  net->eval();
  ClassifierReport report;
  report.final_loss = tail / static_cast<double>(window);
  report.test_accuracy = classifier_accuracy(net, data.test_images, data.test_labels);
  report.seconds = since(start);
  return report;
}

std::string classifier_cache_key(const ClassifierTrainConfig& config, const ImageDataset& data) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(
                    fnv1a64("image classifier v2|" + config.describe() + "|data=" + data.fingerprint)));
  return hex;
}

void freeze(ImageClassifier& net) {
  for (auto& p : net->parameters()) {
    p.mutable_grad() = at::Tensor();  // no stale training gradients either
    p.set_requires_grad(false);
  }
  net->eval();
}

ImageClassifier load_or_train_classifier(const ClassifierTrainConfig& config, const ImageDataset& data,
                                         const std::string& cache_dir, ClassifierLoadInfo* info,
                                         const c10::Device& device, bool progress) {
  const auto start = Clock::now();
  config.validate();
  ClassifierLoadInfo local;
  ClassifierLoadInfo& out = info ? *info : local;
  out = ClassifierLoadInfo{};
  out.key = classifier_cache_key(config, data);
  const std::string name = "image-classifier-" + arch_name(config.arch) + "-" + out.key + ".bin";
  out.path = cache_dir + "/" + name;
  const std::string tag = "image classifier " + arch_name(config.arch) + " " + out.key;
  const at::Tensor& first = data.train_images;
  ImageClassifier net(config.arch, first.size(1), first.size(2), data.classes);
  const auto load = [&](const std::string& payload) {
    torch::serialize::InputArchive archive, m;
    archive.load_from(payload.data(), payload.size(), device);
    archive.read("model", m);
    net->load(m);
    out.test_accuracy = read_archive_scalar(archive, "test_accuracy");
    out.final_loss = read_archive_scalar(archive, "final_loss");
    out.train_seconds = read_archive_scalar(archive, "train_seconds");
  };
  const auto build = [&]() -> std::optional<std::string> {
    at::manual_seed(config.seed);
    net = ImageClassifier(config.arch, first.size(1), first.size(2), data.classes);
    const ClassifierReport report = train_classifier(net, data, config, device, progress);
    out.test_accuracy = report.test_accuracy;
    out.final_loss = report.final_loss;
    out.train_seconds = report.seconds;
    torch::serialize::OutputArchive archive, m;
    net->save(m);
    archive.write("model", m);
    archive.write("test_accuracy", archive_scalar(report.test_accuracy));
    archive.write("final_loss", archive_scalar(report.final_loss));
    archive.write("train_seconds", archive_scalar(report.seconds));
    return archive_bytes(archive);
  };
  const ModelSource source = load_or_build_model(cache_dir, name, tag, load, build, progress ? stderr : nullptr);
  out.path = source.path;
  out.from_cache = source.from_cache;
  out.shipped = source.shipped;
  out.rejected = source.rejected;
  net->to(device);
  freeze(net);
  out.seconds = since(start);
  return net;
}

ClassifierLogProbReward::ClassifierLogProbReward(ImageClassifier net) : net_(std::move(net)) { freeze(net_); }

at::Tensor ClassifierLogProbReward::log_probs(const at::Tensor& x) const {
  return at::log_softmax(net_->forward(x).to(at::kFloat), 1);
}

at::Tensor ClassifierLogProbReward::operator()(const at::Tensor& x, const at::Tensor& cond) const {
  return log_probs(x).gather(1, cond.to(x.device(), at::kLong).unsqueeze(1)).squeeze(1);
}

}  // namespace flowbp
