#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "flowbp/rollout.h"
#include "flowbp/schedule.h"
#include "toy_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;

namespace {

// Every metric a toy run's /eval holds: the reward's mean, its evaluators, the quality
// metrics, by column name.
struct Scorer {
  const GaussianMixture& mixture;
  const ModePreferenceReward& reward;
  std::map<std::string, double> score(const at::Tensor& x, const at::Tensor& cond) const {
    std::map<std::string, double> out;
    out["reward"] = reward(x.to(at::kDouble), cond).mean().item<double>();
    const auto ood = mode_preference_evaluators(mixture, reward, x, cond);
    const auto ood_names = mode_preference_evaluator_columns();
    for (std::size_t i = 0; i < ood.size(); ++i) out[ood_names[i]] = ood[i];
    const auto quality = toy_quality(mixture, x, cond);
    const auto quality_names = toy_quality_columns();
    for (std::size_t i = 0; i < quality.size(); ++i) out[quality_names[i]] = quality[i];
    return out;
  }
};

}  // namespace

namespace {

at::Tensor sample_model(ToyVelocityNet& net, const at::Tensor& cond, const at::Tensor& noise, int steps) {
  VelocityFn v = [&](const at::Tensor& x, double t) { return net->forward(x, t, cond); };
  return cached_rollout(v, noise, Schedule::make(steps)).x[0];
}

bool same_parameters(ToyVelocityNet& a, ToyVelocityNet& b) {
  auto pa = a->parameters(), pb = b->parameters();
  if (pa.size() != pb.size()) return false;
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (!at::equal(pa[i], pb[i])) return false;
  return true;
}

void flip_byte(const std::string& path, std::size_t from_end) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(f.tellg());
  f.seekg(static_cast<std::streamoff>(size - from_end));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(size - from_end));
  f.write(&c, 1);
}

}  // namespace

TEST_CASE("the mixture is deterministic, well separated and its density is exact") {
  const ToyConfig cfg = testing::default_backbone();
  GaussianMixture a = cfg.mixture(), b = cfg.mixture();
  CHECK(at::equal(a.means, b.means));
  CHECK(a.means.sizes() == at::IntArrayRef({4, 4, 2}));
  CHECK_FALSE(at::equal(a.means, GaussianMixture::make(cfg.dim, cfg.classes, cfg.modes_per_class, cfg.mode_std, 99).means));
  at::Tensor flat = a.means.reshape({-1, 2}).to(at::kDouble);
  at::Tensor d = at::cdist(flat, flat) + at::eye(16, at::kDouble) * 1e9;
  CHECK(d.min().item<double>() >= 8 * cfg.mode_std - 1e-9);

  // log p(x|c) against the formula written out for one point.
  at::Tensor x = at::tensor({0.3, -0.7}, at::kDouble).reshape({1, 2});
  double p = 0;
  for (int m = 0; m < 4; ++m) {
    double sq = 0;
    for (int k = 0; k < 2; ++k) sq += std::pow(0.3 * (k == 0) - 0.7 * (k == 1) - a.means[2][m][k].item<double>(), 2);
    p += 0.25 * std::exp(-sq / (2 * 0.0225)) / (2 * M_PI * 0.0225);
  }
  CHECK(a.log_density(x, at::tensor({2}, at::kLong)).item<double>() == doctest::Approx(std::log(p)).epsilon(1e-9));

  // Samples of class c sit on class c's modes.
  at::Generator gen = at::detail::createCPUGenerator(3);
  at::Tensor cond = at::full({2000}, 1, at::kLong);
  at::Tensor xs = a.sample(cond, gen);
  at::Tensor nearest = std::get<0>(at::cdist(xs.to(at::kDouble), a.means[1].to(at::kDouble)).min(1));
  CHECK(nearest.max().item<double>() < 6 * cfg.mode_std);
}

TEST_CASE("the in-domain reward prefers part of each class's modes and is differentiable") {
  GaussianMixture g = testing::default_backbone().mixture();
  ModePreferenceReward reward(g, testing::default_reward());
  REQUIRE(reward.preferred_per_class() == 2);
  at::Tensor cond = at::tensor({0, 0, 3}, at::kLong);
  at::Tensor x = at::stack({g.means[0][0], g.means[0][3], g.means[3][1]});
  at::Tensor r = reward(x, cond);
  CHECK(r[0].item<double>() == doctest::Approx(1.0).epsilon(1e-6));  // a preferred centre
  CHECK(r[1].item<double>() < 1e-3);                                    // a non-preferred mode
  CHECK(r[2].item<double>() == doctest::Approx(1.0).epsilon(1e-6));

  // Between a preferred centre and its neighbourhood the gradient points home.
  at::Tensor near = (g.means[0][0] + at::tensor({0.2f, 0.1f})).unsqueeze(0).requires_grad_(true);
  at::Tensor rn = reward(near, at::tensor({0}, at::kLong));
  CHECK(rn.item<double>() > 0);
  CHECK(rn.item<double>() < 1);
  rn.sum().backward();
  at::Tensor towards = g.means[0][0].unsqueeze(0) - near.detach();
  CHECK((near.grad() * towards).sum().item<double>() > 0);
}

TEST_CASE("the evaluators see collapse onto preferred modes") {
  GaussianMixture g = testing::default_backbone().mixture();
  ModePreferenceReward reward(g, testing::default_reward());
  Scorer eval{g, reward};
  auto col = [&](const std::map<std::string, double>& v, const std::string& name) {
    REQUIRE(v.count(name));
    return v.at(name);
  };

  at::Generator gen = at::detail::createCPUGenerator(11);
  at::Tensor cond = at::arange(4, at::kLong).repeat_interleave(1000);
  std::map<std::string, double> data = eval.score(g.sample(cond, gen), cond);
  CHECK(col(data, "mode_coverage") == doctest::Approx(1.0));
  CHECK(col(data, "ood_preferred_mass") == doctest::Approx(0.5).epsilon(0.05));
  // E exp(−‖x−μ‖²/2w²) under N(μ, σ²I) is (w²/(w²+σ²))^{d/2} = 0.8, on half the samples.
  CHECK(col(data, "reward") == doctest::Approx(0.4).epsilon(0.05));

  // Every sample on a preferred centre: reward 1, coverage halves, log-density rises.
  at::Tensor hacked = g.means.index({cond, at::zeros_like(cond)});
  std::map<std::string, double> h = eval.score(hacked, cond);
  CHECK(col(h, "reward") == doctest::Approx(1.0));
  CHECK(col(h, "ood_laplace") == doctest::Approx(1.0));
  CHECK(col(h, "ood_nearest") == doctest::Approx(1.0));
  CHECK(col(h, "ood_preferred_mass") == doctest::Approx(1.0));
  CHECK(col(h, "mode_coverage") == doctest::Approx(0.25));
  CHECK(col(h, "quality_logp") > col(data, "quality_logp"));
}

TEST_CASE("the backbone cache is reused, and a corrupt or truncated cache is rebuilt") {
  ToyConfig cfg = testing::default_backbone();
  cfg.pretrain_steps = 60;
  cfg.hidden = 32;
  const std::string dir = testing::temp_dir("cache") + "/nested/cache";

  BackboneLoadInfo first, second, third, fourth;
  ToyBackbone a = load_or_pretrain(cfg, dir, &first);
  CHECK_FALSE(first.from_cache);
  CHECK(first.rejected.empty());
  CHECK(first.path.find(backbone_cache_key(cfg)) != std::string::npos);

  ToyBackbone b = load_or_pretrain(cfg, dir, &second);
  CHECK(second.from_cache);
  CHECK(same_parameters(a.net, b.net));

  flip_byte(first.path, 40);  // inside the model payload
  ToyBackbone c = load_or_pretrain(cfg, dir, &third);
  CHECK_FALSE(third.from_cache);
  CHECK(third.rejected == "checksum mismatch");
  CHECK(same_parameters(a.net, c.net));  // pre-training is a function of the settings

  {  // cut the file in half
    std::ifstream in(first.path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(first.path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  }
  ToyBackbone d = load_or_pretrain(cfg, dir, &fourth);
  CHECK_FALSE(fourth.from_cache);
  CHECK(fourth.rejected == "truncated");
  CHECK(same_parameters(a.net, d.net));

  // Another setting is another file.
  ToyConfig other = cfg;
  other.p_uncond = 0.2;
  CHECK(backbone_cache_key(other) != backbone_cache_key(cfg));
}

TEST_CASE("pre-training with the default settings takes seconds and learns the mixture") {
  const ToyConfig cfg = testing::default_backbone();
  BackboneLoadInfo info;
  ToyBackbone bb = load_or_pretrain(cfg, testing::temp_dir("pretrain"), &info);
  MESSAGE("default pre-training: " << info.seconds << " s");
  CHECK(info.seconds < 60);

  ModePreferenceReward reward(bb.mixture, testing::default_reward());
  Scorer eval{bb.mixture, reward};
  at::Generator gen = at::detail::createCPUGenerator(5);
  at::Tensor cond = at::arange(4, at::kLong).repeat_interleave(256);
  at::NoGradGuard no_grad;
  at::Tensor model = sample_model(bb.net, cond, at::randn({1024, 2}, gen, at::kFloat), 50);
  auto m = eval.score(model, cond), data = eval.score(bb.mixture.sample(cond, gen), cond);
  MESSAGE("model logp " << m["quality_logp"] << " vs data " << data["quality_logp"] << "; coverage "
                        << m["mode_coverage"] << "; reward " << m["reward"]);
  CHECK(m["mode_coverage"] == doctest::Approx(1.0));                  // every mode of every class
  CHECK(m["quality_logp"] > data["quality_logp"] - 2.0);  // near the data's own log-density (σ = 0.15: sharp)
  CHECK(m["ood_preferred_mass"] == doctest::Approx(0.5).epsilon(0.2));  // no preference before training
}
