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
                               "extra targets x^(m) = (1 - t_1) sg(x0^(0)) + t_1 eps_m, each denoised in one step")};
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
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(DraftLv, "draft-lv", FLOWBP_IN_TREE_VERSION)
