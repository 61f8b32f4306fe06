// reward.kind = "torchscript": the user's scripted reward model (docs/TORCHSCRIPT.md),
// probed on a batch shaped like the backbone's samples.
#include "flowbp/reward.h"
#include "flowbp/torchscript_models.h"

namespace flowbp {

namespace {

class TorchScriptRewardKind final : public RewardKind {
 public:
  KindInfo info() const override {
    KindInfo k;
    k.name = "torchscript";
    k.summary = "your scripted reward forward(x, cond) -> [B], differentiable in x (docs/TORCHSCRIPT.md)";
    k.settings = {SettingSpec::path("model", "",
                                    "scripted reward module, forward(x, cond) -> [B] (path relative to the experiment file)")
                      .with_aliases({"reward_model", "path", "model_path"})};
    k.check = [](const SettingValues& s, const KindCheckContext&) {
      if (s.get_string("model").empty())
        throw SettingError("reward.model", "reward.model: reward.kind = \"torchscript\" needs the path of a "
                                           "TorchScript file (torch.jit.script(m).save(path))");
    };
    return k;
  }

  Reward create(const RewardConfig& config, const Backbone& backbone, const ModelContext& context) const override {
    const std::string& path = config.settings.get_string("model");
    ScriptProbe probe{backbone.latents.shape, backbone.conditions, -1, context.device};
    Reward r;
    r.fn = load_scripted_reward("reward.model", path, probe);
    r.note = "reward: TorchScript " + path;
    return r;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_REWARD_KIND(flowbp::TorchScriptRewardKind)
