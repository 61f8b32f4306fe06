// The backbone and reward registries: what is registered, what the catalog says, and
// the errors for an unknown kind or a reward that cannot score a backbone.
#include <ATen/ATen.h>

#include <algorithm>

#include "flowbp/gaussian_mixture.h"
#include "flowbp/reward.h"
#include "doctest_after_torch.h"

using namespace flowbp;

namespace {

template <typename Kind>
std::vector<std::string> names(const std::vector<const Kind*>& kinds) {
  std::vector<std::string> out;
  for (const auto* k : kinds) out.push_back(k->info().name);
  return out;
}

bool contains(const std::vector<std::string>& all, const std::string& name) {
  return std::find(all.begin(), all.end(), name) != all.end();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the built-in kinds are registered when the models library loads, sorted by name") {
  const auto backbones = names(backbone_kinds());
  const auto rewards = names(reward_kinds());
  CHECK(contains(backbones, "toy-gmm"));
  CHECK(contains(backbones, "torchscript"));
  CHECK(contains(rewards, "mode-preference"));
  CHECK(contains(rewards, "torchscript"));
  CHECK(std::is_sorted(backbones.begin(), backbones.end()));
  CHECK(std::is_sorted(rewards.begin(), rewards.end()));
}

TEST_CASE("every kind declares a summary and settings with help, and backbones a default reward that exists") {
  for (const auto* kind : backbone_kinds()) {
    const KindInfo info = kind->info();
    CAPTURE(info.name);
    CHECK_FALSE(info.summary.empty());
    CHECK(static_cast<bool>(info.conditions));
    CHECK(contains(names(reward_kinds()), info.default_reward));
    for (const auto& s : info.settings) CHECK_FALSE(s.help.empty());
  }
  for (const auto* kind : reward_kinds()) {
    const KindInfo info = kind->info();
    CAPTURE(info.name);
    CHECK_FALSE(info.summary.empty());
    for (const auto& b : info.backbones) CHECK(contains(names(backbone_kinds()), b));
    for (const auto& s : info.settings) CHECK_FALSE(s.help.empty());
  }
}

TEST_CASE("the catalog holds exactly the registered kinds") {
  const Catalog catalog = model_catalog(nullptr);
  CHECK(catalog.methods() == nullptr);
  CHECK(catalog.backbone_names() == names(backbone_kinds()));
  CHECK(catalog.reward_names() == names(reward_kinds()));
  REQUIRE(catalog.backbone("toy-gmm") != nullptr);
  CHECK(catalog.backbone("toy-gmm")->default_reward == "mode-preference");
  CHECK(catalog.backbone("toy") == nullptr);
}

TEST_CASE("an unknown kind is refused with a suggestion") {
  CHECK(error_of([] { backbone_kind("toy-gm"); }) == "backbone.kind: unknown kind 'toy-gm' (did you mean 'toy-gmm'?)");
  CHECK(error_of([] { reward_kind("mode-preferenc"); }) ==
        "reward.kind: unknown kind 'mode-preferenc' (did you mean 'mode-preference'?)");
}

TEST_CASE("a reward kind receives the backbone's domain and refuses a backbone it cannot score") {
  Backbone scripted;
  scripted.kind = "torchscript";
  scripted.latents = {{3}, -1};
  RewardConfig config;
  config.kind = "mode-preference";
  config.settings.set("width", 0.3);
  config.settings.set("preferred_fraction", 0.5);
  CHECK(error_of([&] { create_reward(config, scripted, ModelContext{}); }) ==
        "reward.kind: 'mode-preference' cannot score samples of backbone kind 'torchscript'");

  Backbone toy;
  toy.kind = "toy-gmm";
  toy.domain = std::make_shared<GaussianMixture>(GaussianMixture::make(2, 4, 4, 0.15));
  toy.latents = {{2}, 4};
  const Reward reward = create_reward(config, toy, ModelContext{});
  const auto& mixture = dynamic_cast<const GaussianMixture&>(*toy.domain);
  const at::Tensor cond = at::zeros({1}, at::kLong);
  const at::Tensor at_mode = mixture.means[0][0].unsqueeze(0);
  CHECK(reward.fn(at_mode, cond).item<double>() == doctest::Approx(1.0));
  REQUIRE(reward.metrics.size() == 3);
  CHECK(reward.score(at_mode, cond).size() == 3);
}
