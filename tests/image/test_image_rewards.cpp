#include <ATen/ATen.h>

#include <string>

#include "fashion_mnist.h"
#include "flowbp/compute.h"
#include "flowbp/image_classifier.h"
#include "flowbp/image_evaluator.h"
#include "image_fixtures.h"
#include "ink_reward.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

ClassifierTrainConfig quick(ClassifierArch arch, TrainSplit split, std::int64_t steps) {
  ClassifierTrainConfig c = arch == ClassifierArch::kRewardCnn ? reward_classifier_recipe() : evaluator_recipe();
  c.split = split;
  c.steps = steps;
  c.batch = 32;
  return c;
}

bool real_data() { return file_exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz"); }

}  // namespace

TEST_CASE("both classifier architectures: logits, features, parameters") {
  for (ClassifierArch arch : {ClassifierArch::kRewardCnn, ClassifierArch::kEvaluatorWide}) {
    CAPTURE(arch_name(arch));
    ImageClassifier net(arch, 1, 28, 10);
    at::Tensor x = at::randn({5, 1, 28, 28});
    CHECK(net->forward(x).sizes() == at::IntArrayRef({5, 10}));
    CHECK(net->features(x).sizes() == at::IntArrayRef({5, net->feature_dim()}));
    CHECK(at::allclose(net->logits_from_features(net->features(x)), net->forward(x)));
    CHECK(parse_arch(arch_name(arch)) == arch);
  }
  CHECK_THROWS_WITH_AS(parse_arch("resnet"), "classifier architecture 'resnet': expected \"reward-cnn\" or \"evaluator-wide\"",
                       std::invalid_argument);
  CHECK_THROWS_AS(ImageClassifier(ClassifierArch::kRewardCnn, 1, 30, 10), std::invalid_argument);
}

TEST_CASE("the two halves of the training split are disjoint and cover it") {
  const ImageDataset d = synthetic_dataset(4, 101, 8);
  at::Tensor a = split_images(d, TrainSplit::kFirstHalf), b = split_images(d, TrainSplit::kSecondHalf);
  CHECK(a.size(0) == 50);
  CHECK(b.size(0) == 51);
  CHECK(at::equal(at::cat({a, b}), d.train_images));
  CHECK(at::equal(at::cat({split_labels(d, TrainSplit::kFirstHalf), split_labels(d, TrainSplit::kSecondHalf)}),
                  d.train_labels));
  CHECK(split_images(d, TrainSplit::kAll).size(0) == 101);
}

TEST_CASE("classifier training reaches a high accuracy quickly (synthetic bars)") {
  const ImageDataset d = synthetic_dataset(8, 600, 200);
  for (ClassifierArch arch : {ClassifierArch::kRewardCnn, ClassifierArch::kEvaluatorWide}) {
    CAPTURE(arch_name(arch));
    at::manual_seed(1);
    ImageClassifier net(arch, 1, 28, 8);
    const ClassifierReport r = train_classifier(net, d, quick(arch, TrainSplit::kFirstHalf, 60), c10::Device(c10::kCPU),
                                                /*progress*/ false);
    CHECK(r.test_accuracy > 0.95);
    CHECK(classifier_accuracy(net, d.test_images, d.test_labels) == r.test_accuracy);
    CHECK_FALSE(net->is_training());
  }
}

TEST_CASE("the reward CNN on a Fashion-MNIST subset reaches 0.7 in seconds") {
  if (!real_data()) {
    MESSAGE("dataset-fashion-mnist is not installed: skipped");
    return;
  }
  const ImageDataset d = load_fashion_mnist();
  ClassifierTrainConfig c = quick(ClassifierArch::kRewardCnn, TrainSplit::kFirstHalf, 150);
  c.batch = 64;
  c.train_limit = 5000;
  at::manual_seed(1);
  ImageClassifier net(c.arch, 1, 28, 10);
  ImageDataset small = d;
  small.test_images = d.test_images.narrow(0, 0, 2000);
  small.test_labels = d.test_labels.narrow(0, 0, 2000);
  const ClassifierReport r = train_classifier(net, small, c, c10::Device(c10::kCPU), false);
  MESSAGE("reward-cnn, 150 steps on 5000 images: test accuracy " << r.test_accuracy << " in " << r.seconds << " s");
  CHECK(r.test_accuracy >= 0.70);
}

TEST_CASE("classifier cache: written, verified, corrupt files rebuilt; loaded frozen") {
  const ImageDataset d = synthetic_dataset(4, 200, 50);
  const ClassifierTrainConfig c = quick(ClassifierArch::kRewardCnn, TrainSplit::kFirstHalf, 20);
  const std::string dir = temp_dir("clf-cache");
  ClassifierLoadInfo info;
  ImageClassifier a = load_or_train_classifier(c, d, dir, &info, c10::Device(c10::kCPU), false);
  CHECK_FALSE(info.from_cache);
  CHECK(file_exists(info.path));
  CHECK(info.path == dir + "/image-classifier-reward-cnn-" + classifier_cache_key(c, d) + ".bin");
  const double acc = info.test_accuracy;
  for (auto& p : a->parameters()) CHECK_FALSE(p.requires_grad());
  CHECK_FALSE(a->is_training());

  ImageClassifier b = load_or_train_classifier(c, d, dir, &info, c10::Device(c10::kCPU), false);
  CHECK(info.from_cache);
  CHECK(info.test_accuracy == acc);
  CHECK(at::equal(a->parameters()[0], b->parameters()[0]));
  for (auto& p : b->parameters()) CHECK_FALSE(p.requires_grad());

  flip_byte(info.path, 64);
  ImageClassifier r = load_or_train_classifier(c, d, dir, &info, c10::Device(c10::kCPU), false);
  CHECK(info.rejected == info.path + ": checksum mismatch");
  CHECK(at::equal(a->parameters().back(), r->parameters().back()));

  ClassifierTrainConfig other = c;
  other.split = TrainSplit::kSecondHalf;
  CHECK(classifier_cache_key(other, d) != classifier_cache_key(c, d));
}

TEST_CASE("the alignment reward is log p(c|x), differentiable in x, and ascends") {
  const ImageDataset d = synthetic_dataset(4, 300, 40);
  at::manual_seed(3);
  ImageClassifier net(ClassifierArch::kRewardCnn, 1, 28, 4);
  train_classifier(net, d, quick(ClassifierArch::kRewardCnn, TrainSplit::kAll, 40), c10::Device(c10::kCPU), false);
  ClassifierLogProbReward reward(net);
  at::Tensor x = d.test_images.narrow(0, 0, 8).clone();
  at::Tensor cond = (d.test_labels.narrow(0, 0, 8) + 1) % 4;  // the wrong class: room to improve
  at::Tensor r = reward(x, cond);
  CHECK(r.sizes() == at::IntArrayRef({8}));
  CHECK(r.max().item<float>() <= 0.0f);
  CHECK(at::allclose(reward.log_probs(x).exp().sum(1), at::ones({8}), 1e-5, 1e-5));
  CHECK(at::allclose(r, reward.log_probs(x).gather(1, cond.unsqueeze(1)).squeeze(1)));

  // The gradient in x against a central difference along a random direction.
  at::Tensor xg = x.clone().requires_grad_(true);
  reward(xg, cond).sum().backward();
  at::Tensor g = xg.grad();
  REQUIRE(g.defined());
  CHECK(at::isfinite(g).all().item<bool>());
  at::Tensor dir = at::randn_like(x);
  dir = dir / dir.norm();
  const double h = 1e-2;
  const double fd = ((reward(x + h * dir, cond).sum() - reward(x - h * dir, cond).sum()) / (2 * h)).item<double>();
  const double an = (g * dir).sum().item<double>();
  CHECK(an == doctest::Approx(fd).epsilon(0.05));

  // Gradient ascent on x raises the reward of the prompted class.
  at::Tensor y = x.clone();
  for (int i = 0; i < 20; ++i) {
    at::Tensor yg = y.clone().requires_grad_(true);
    reward(yg, cond).sum().backward();
    y = y + 0.5 * yg.grad();
  }
  CHECK(reward(y, cond).mean().item<double>() > reward(x, cond).mean().item<double>() + 0.5);
  // Gradients reach x only: the classifier is frozen.
  for (auto& p : reward.net()->parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("the ink-coverage reward: range, target, gradient direction, per-class targets") {
  InkCoverageReward reward(InkRewardConfig{}, 4);
  at::Tensor blank = at::full({2, 1, 28, 28}, -1.0f), full = at::full({2, 1, 28, 28}, 1.0f);
  at::Tensor cond = at::tensor({0, 3}, at::kLong);
  CHECK(reward.ink(blank)[0].item<double>() == doctest::Approx(1 / (1 + std::exp(3.0))).epsilon(1e-5));
  CHECK(reward.ink(full)[0].item<double>() == doctest::Approx(1 / (1 + std::exp(-3.0))).epsilon(1e-5));
  for (const at::Tensor& x : {blank, full, at::randn({2, 1, 28, 28}) * 3}) {
    at::Tensor r = reward(x, cond);
    CHECK(r.max().item<float>() <= 0.0f);
    CHECK(r.min().item<float>() > -1.0f);
  }
  // Exactly at the target: reward 0 (the maximum). x = logit(0.6)/3 everywhere.
  at::Tensor at_target = at::full({1, 1, 28, 28}, static_cast<float>(std::log(0.6 / 0.4) / 3));
  CHECK(reward(at_target, at::tensor({1}, at::kLong)).item<double>() == doctest::Approx(0.0).epsilon(1e-6).scale(1));
  // Below the target, more ink (brighter pixels) is better: the gradient is positive everywhere.
  at::Tensor x = blank.clone().requires_grad_(true);
  reward(x, cond).sum().backward();
  CHECK(x.grad().min().item<float>() > 0.0f);
  // Above it, less ink.
  at::Tensor y = full.clone().requires_grad_(true);
  reward(y, cond).sum().backward();
  CHECK(y.grad().max().item<float>() < 0.0f);
  // Per-class targets select by the condition.
  InkRewardConfig pc;
  pc.class_targets = {0.1, 0.2, 0.3, 0.9};
  InkCoverageReward per_class(pc, 4);
  at::Tensor r = per_class(full, cond);
  CHECK(r[1].item<float>() > r[0].item<float>());
  InkRewardConfig bad;
  bad.class_targets = {0.1, 0.2};
  CHECK_THROWS_WITH_AS(InkCoverageReward(bad, 4),
                       "ink-coverage reward: class_targets needs one value per class (4), got 2", std::invalid_argument);
  bad = InkRewardConfig{};
  bad.target = 1.5;
  CHECK_THROWS_WITH_AS(InkCoverageReward(bad, 4), "ink-coverage reward: target must be in (0, 1)",
                       std::invalid_argument);
}

TEST_CASE("the held-out evaluator: disjoint split, test statistics cached, scores") {
  const ImageDataset d = synthetic_dataset(4, 400, 200);
  const std::string dir = temp_dir("eval-cache");
  const ClassifierTrainConfig c = quick(ClassifierArch::kEvaluatorWide, TrainSplit::kSecondHalf, 40);
  CHECK_THROWS_WITH_AS(load_or_train_evaluator(d, dir, nullptr, c, TrainSplit::kSecondHalf),
                       "held-out evaluator: its split (second_half) must be disjoint from the reward classifier's "
                       "(second_half): use first_half and second_half",
                       std::invalid_argument);
  CHECK_THROWS_AS(load_or_train_evaluator(d, dir, nullptr, c, TrainSplit::kAll), std::invalid_argument);

  EvaluatorLoadInfo info;
  HeldOutEvaluator ev = load_or_train_evaluator(d, dir, &info, c, TrainSplit::kFirstHalf, c10::Device(c10::kCPU), false);
  CHECK_FALSE(info.classifier.from_cache);
  CHECK_FALSE(info.stats_from_cache);
  CHECK(file_exists(info.stats_path));
  CHECK(ev.test_accuracy() > 0.95);
  CHECK(ev.test_stats().count == 200);
  CHECK(ev.test_stats().mean.sizes() == at::IntArrayRef({128}));

  // The test images themselves: their FID to their own statistics is 0.
  ImageEvalScores s = ev.score(d.test_images, d.test_labels, 64);
  CHECK(s.samples == 200);
  CHECK(s.accuracy == doctest::Approx(ev.test_accuracy()));
  CHECK(s.fid == doctest::Approx(0.0).epsilon(1e-6).scale(1));
  CHECK(s.diversity > 0);
  CHECK(s.ood_reward < 0);
  CHECK(s.ood_reward > -0.5);
  // Images of one kind per class: as accurate, but worse FID and no diversity.
  at::Tensor templates;
  {
    std::vector<at::Tensor> one_per_class;
    for (std::int64_t k = 0; k < 4; ++k)
      one_per_class.push_back(d.test_images.index_select(0, at::nonzero(d.test_labels.eq(k)).squeeze(1)).narrow(0, 0, 1));
    templates = at::cat(one_per_class).repeat_interleave(10, 0);
  }
  ImageEvalScores c2 = ev.score(templates, at::arange(4, at::kLong).repeat_interleave(10));
  CHECK(c2.diversity == doctest::Approx(0.0).scale(1));
  CHECK(c2.fid > s.fid + 1e-3);

  // Cached: both files read back; a damaged statistics file is recomputed.
  HeldOutEvaluator again = load_or_train_evaluator(d, dir, &info, c, TrainSplit::kFirstHalf, c10::Device(c10::kCPU), false);
  CHECK(info.classifier.from_cache);
  CHECK(info.stats_from_cache);
  CHECK(at::equal(again.test_stats().cov, ev.test_stats().cov));
  flip_byte(info.stats_path, 10);
  load_or_train_evaluator(d, dir, &info, c, TrainSplit::kFirstHalf, c10::Device(c10::kCPU), false);
  CHECK_FALSE(info.stats_from_cache);
  CHECK(info.stats_rejected == info.stats_path + ": checksum mismatch");

  // The out-of-domain reward is differentiable in x.
  at::Tensor x = d.test_images.narrow(0, 0, 4).clone().requires_grad_(true);
  at::Tensor r = ev.ood_reward(x, d.test_labels.narrow(0, 0, 4));
  r.sum().backward();
  CHECK(x.grad().abs().sum().item<double>() > 0);
}

TEST_CASE("rewards and evaluator under bf16 autocast") {
  const ImageDataset d = synthetic_dataset(4, 200, 40);
  at::manual_seed(4);
  ImageClassifier net(ClassifierArch::kEvaluatorWide, 1, 28, 4);
  train_classifier(net, d, quick(ClassifierArch::kEvaluatorWide, TrainSplit::kAll, 10), c10::Device(c10::kCPU), false);
  ClassifierLogProbReward reward(net);
  InkCoverageReward ink(InkRewardConfig{}, 4);
  at::Tensor x = d.test_images.narrow(0, 0, 6);
  at::Tensor cond = d.test_labels.narrow(0, 0, 6);
  const at::Tensor ref = reward(x, cond), ref_ink = ink(x, cond);
  Compute compute;
  compute.bf16_autocast = true;
  AutocastRegion region(compute);
  at::Tensor xg = x.clone().requires_grad_(true);
  at::Tensor r = reward(xg, cond);
  CHECK((r.scalar_type() == at::kFloat));
  CHECK(at::allclose(r, ref, 0.1, 0.1));
  at::Tensor ri = ink(xg, cond);
  CHECK((ri.scalar_type() == at::kFloat));
  CHECK(at::allclose(ri, ref_ink, 1e-3, 1e-3));
  (r + ri).sum().backward();
  CHECK(at::isfinite(xg.grad()).all().item<bool>());
  HeldOutEvaluator ev(net, feature_stats(net->features(d.test_images).to(at::kFloat)), 1.0);
  ImageEvalScores s = ev.score(x, cond);
  CHECK(std::isfinite(s.fid));
  CHECK(std::isfinite(s.ood_reward));
}
