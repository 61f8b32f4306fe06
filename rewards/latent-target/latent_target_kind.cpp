// reward.kind = "latent-target" in the reward registry: scores any backbone's samples
// (see latent_target.h); its one evaluator column is ood_cosine, the cosine similarity
// of a sample to its target.
#include "flowbp/reward.h"
#include "latent_target.h"

namespace flowbp {

namespace {

using S = SettingSpec;

class LatentTargetKind final : public RewardKind {
 public:
  KindInfo info() const override {
    KindInfo k;
    k.name = "latent-target";
    k.summary = "-mean((x - T_c)^2) to a fixed random target per condition; any shape, no data (scaling runs)";
    k.settings = {
        S::positive("scale", 1.0, "standard deviation of the targets' entries").with_aliases({"target_scale"}),
        S::integer("seed", 0, 0, 9.2e18, "seed of the random targets").with_aliases({"target_seed"}),
    };
    return k;  // backbones empty: any
  }

  Reward create(const RewardConfig& config, const Backbone& backbone, const ModelContext& context) const override {
    auto reward = std::make_shared<const LatentTargetReward>(
        backbone.latents.shape, backbone.conditions, config.settings.get_real("scale"),
        static_cast<std::uint64_t>(config.settings.get_int("seed")), context.device);
    Reward r;
    r.fn = [reward](const at::Tensor& x, const at::Tensor& cond) { return (*reward)(x, cond); };
    r.metrics = {{"ood_cosine", false}};
    r.score = [reward](const at::Tensor& x, const at::Tensor& cond) {
      return std::vector<double>{reward->mean_cosine(x, cond)};
    };
    return r;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_REWARD_KIND(flowbp::LatentTargetKind)
