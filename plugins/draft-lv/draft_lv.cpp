// DRaFT-LV (Clark et al., 2024): the last step only, with M extra reward targets
// re-noised from the first posterior mean to lower the gradient's variance.
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

class DraftLv final : public Method {
 public:
  MethodInfo info() const override {
    return {"draft-lv", "DRaFT-LV",
            "last step k = 1 active, reward averaged over the posterior mean and M re-noised copies of it",
            "Clark et al., 2024, Directly fine-tuning diffusion models on differentiable rewards (DRaFT-LV)",
            {"posterior mean, M re-noised extra targets", "{1}", "Tweedie t_1", "none"}};
  }

  std::vector<SettingSpec> settings() const override {
    return {SettingSpec::integer("M", 2, 0, 64,
                               "extra targets x^(m) = (1 - t_1) sg(x0^(0)) + t_1 eps_m, each denoised in one step"),
            SettingSpec::choice("hinge_on", "per_target", {"per_target", "mean_reward"},
                              "per_target: the mean over the M + 1 targets of each one's hinge (the authors' code); "
                              "mean_reward: the hinge of the targets' mean reward (the first edition)")};
  }

  // The authors' released DRaFT-LV configs (M = 2 on every backbone); each value's file
  // and line: docs/methods/draft-lv.md.
  std::vector<Preset> presets() const override {
    auto authors = [](const std::string& name, const std::string& what, const std::string& file) {
      return Preset{name, "the authors' released DRaFT-LV config for " + what,
                    {{"M", std::int64_t{2}}, {"hinge_on", std::string("per_target")}},
                    std::string("RuoyuWang-2077/FlowBP@93b220ad:") + file};
    };
    return {authors("authors-sd35", "SD3.5-M", "configs/final/sd35/sd3_5_draft_lv.yaml"),
            authors("authors-flux1", "FLUX.1-dev", "configs/final/flux1/flux1_draft_lv.yaml"),
            authors("authors-flux2", "FLUX.2-klein-base-9B", "configs/final/flux2/flux2_klein_base_9b_draft_lv.yaml"),
            Preset{"spec-v1", "first edition (docs/METHODS.md §0): the hinge of the mean reward over the targets",
                   {{"M", std::int64_t{2}}, {"hinge_on", std::string("mean_reward")}},
                   "docs/METHODS.md §0: the first edition's values"}};
  }

  // The active set is {1}; the M re-noised programs re-forward index 1 again on
  // other inputs, which counts in active_forwards, not in |A|.
  int max_active(const SettingValues& /*params*/, int /*steps*/) const override { return 1; }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const double t1 = ctx.schedule.t[1];
    Plan plan;
    Program first = plan_builders::cached_program(1);
    first.segments.push_back(plan_builders::single_term_segment(1, 0, 1, t1, VelocityInput::Cached, Pin::None));
    plan.programs.push_back(first);
    const int extra = static_cast<int>(params.get_int("M"));
    for (int m = 1; m <= extra; ++m) {
      Program renoised;
      renoised.start.kind = Start::Kind::Renoise;
      renoised.start.index = 1;
      renoised.start.source_program = 0;
      renoised.start.noise_stream = m;
      renoised.segments.push_back(plan_builders::single_term_segment(1, 0, 1, t1, VelocityInput::Start, Pin::None));
      plan.programs.push_back(renoised);
    }
    plan.hinge = params.get_choice("hinge_on") == "per_target" ? Hinge::PerProgram : Hinge::OfMeanReward;
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(DraftLv, "draft-lv", FLOWBP_IN_TREE_VERSION)
