// reward.kind = "mode-preference" in the reward registry: it scores the toy's samples,
// reading the modes from the GaussianMixture the toy backbone shares.
#include "flowbp/reward.h"
#include "mode_preference.h"

namespace flowbp {

namespace {

at::Tensor on_cpu(const at::Tensor& t) { return t.device().is_cpu() ? t : t.cpu(); }

class ModePreferenceKind final : public RewardKind {
 public:
  KindInfo info() const override {
    KindInfo k;
    k.name = "mode-preference";
    k.summary = "soft-or of Gaussian bumps at each class's preferred modes; OOD: Laplace bumps, nearest mode, preferred mass";
    k.settings = mode_preference_settings();
    k.backbones = {"toy-gmm"};
    return k;
  }

  Reward create(const RewardConfig& config, const Backbone& backbone, const ModelContext&) const override {
    const GaussianMixture& mixture = domain_as<GaussianMixture>(backbone, "mode-preference");
    auto shared = std::make_shared<const GaussianMixture>(mixture);
    auto reward = std::make_shared<const ModePreferenceReward>(*shared, ModePreferenceConfig::from(config.settings));
    Reward r;
    r.fn = [reward](const at::Tensor& x, const at::Tensor& cond) {
      const at::Tensor value = (*reward)(on_cpu(x), on_cpu(cond));
      return x.device().is_cpu() ? value : value.to(x.device());
    };
    for (const auto& name : mode_preference_evaluator_columns()) r.metrics.push_back({name, false});
    r.score = [shared, reward](const at::Tensor& x, const at::Tensor& cond) {
      return mode_preference_evaluators(*shared, *reward, on_cpu(x), on_cpu(cond));
    };
    return r;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_REWARD_KIND(flowbp::ModePreferenceKind)
