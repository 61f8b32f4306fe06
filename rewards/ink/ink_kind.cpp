// reward.kind = "ink": the ink-coverage preference on the image backbone's samples, a
// second in-domain landscape beside the classifier's. The default target (0.6) lies
// above every class's 95th percentile of the data, so maximising it over-inks: the
// out-of-domain columns show what that costs. ood_logp: the held-out evaluator's
// log p(c | x) (does it still look like its class?); ood_hard_ink: −|fraction of pixels
// above mid-grey − target|, the same preference read by a hard count, which grey haze
// (credited by the smooth σ(3x) measure) does not fool.
#include <ATen/ATen.h>

#include "flowbp/image_evaluator.h"
#include "flowbp/reward.h"
#include "ink_reward.h"

namespace flowbp {

namespace {

using S = SettingSpec;

InkRewardConfig ink_config(const SettingValues& s) {
  InkRewardConfig c;
  c.target = s.get_real("target");
  c.softness = s.get_real("softness");
  c.sharpness = s.get_real("sharpness");
  return c;
}

class InkRewardKind final : public RewardKind {
 public:
  KindInfo info() const override {
    KindInfo k;
    k.name = "ink";
    k.summary = "ink-coverage preference toward a target (over-inking); OOD: held-out log p, hard ink count";
    k.settings = {
        S::real("target", 0.6, 0.0, 1.0, "preferred ink coverage mean(sigmoid(sharpness x)); the data's mean is 0.32")
            .excluding_min()
            .with_aliases({"ink", "coverage", "ink_target"}),
        S::positive("softness", 0.02, "delta of the smoothed -|ink - target| (reward 0 at the target)"),
        S::positive("sharpness", 3.0, "slope of the sigmoid that reads a pixel's ink"),
    };
    k.check = [](const SettingValues& s, const KindCheckContext&) {
      if (s.get_real("target") >= 1.0)
        throw SettingError("reward.target", "reward.target: " + format_value(s.get_real("target")) +
                                                " is not an ink coverage below 1 (expected a real in (0, 1))");
    };
    k.backbones = {"dit"};
    return k;
  }

  Reward create(const RewardConfig& config, const Backbone& backbone, const ModelContext&) const override {
    const ImageDomain& domain = domain_as<ImageDomain>(backbone, "ink");
    auto reward = std::make_shared<const InkCoverageReward>(ink_config(config.settings), backbone.conditions);
    auto evaluator = domain.evaluator;
    Reward r;
    r.fn = [reward](const at::Tensor& x, const at::Tensor& cond) { return (*reward)(x, cond); };
    r.metrics = {{"ood_logp", false}, {"ood_hard_ink", false}};
    const double target = reward->config().target;
    r.score = [evaluator, target](const at::Tensor& x, const at::Tensor& cond) {
      at::NoGradGuard no_grad;
      const double hard = (x.detach() > 0).to(at::kDouble).flatten(1).mean(1).sub(target).abs().mean().item<double>();
      return std::vector<double>{evaluator->mean_ood_reward(x, cond), -hard};
    };
    return r;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_REWARD_KIND(flowbp::InkRewardKind)
