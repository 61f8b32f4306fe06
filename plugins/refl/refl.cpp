// ReFL (Xu et al., 2023): one re-forwarded velocity at a late stop index k and the
// reward on its one-step Tweedie estimate (or, as the Table 4 ablation, on the
// Euler-replayed endpoint with the same single active step).
#include <cmath>
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

int window(const SettingValues& params, int steps) {
  const auto w = params.get_int("W");
  return w < 0 ? static_cast<int>(std::ceil(steps / 4.0)) : static_cast<int>(w);
}

class Refl final : public Method {
 public:
  MethodInfo info() const override {
    return {"refl", "ReFL",
            "one active step k ~ U{1..W}, reward on the posterior mean x_k - t_k v(x_k)",
            "Xu et al., 2023, ImageReward: learning and evaluating human preferences for text-to-image generation",
            {"posterior mean x0^(k)", "{k}, k ~ U{1..W}", "Tweedie t_k", "none"}};
  }

  std::vector<SettingSpec> settings() const override {
    return {SettingSpec::integer("W", -1, -1, std::nullopt,
                               "last-step window: k ~ U{1..W}; -1 means ceil(N/4) (the original: last 10 of 40)"),
            SettingSpec::choice("reward_input", "posterior_mean", {"posterior_mean", "endpoint_reconstruction"},
                              "posterior_mean: reward on x_k - t_k v(x_k); endpoint_reconstruction: Euler replay "
                              "of the whole rollout with only k active (Table 4 ablation)")};
  }

  // The authors' released ReFL configs (W = 11 on every backbone); each value's file
  // and line: docs/methods/refl.md.
  std::vector<Preset> presets() const override {
    auto authors = [](const std::string& name, const std::string& what, const std::string& file) {
      return Preset{name, "the authors' released ReFL config for " + what,
                    {{"W", std::int64_t{11}}, {"reward_input", std::string("posterior_mean")}},
                    std::string("RuoyuWang-2077/FlowBP@93b220ad:") + file};
    };
    return {authors("authors-sd35", "SD3.5-M", "configs/final/sd35/sd3_5_refl.yaml"),
            authors("authors-flux1", "FLUX.1-dev", "configs/final/flux1/flux1_refl.yaml"),
            authors("authors-flux2", "FLUX.2-klein-base-9B", "configs/final/flux2/flux2_klein_base_9b_refl.yaml"),
            Preset{"spec-v1", "first edition, unchanged in the second (docs/METHODS.md §0): W = ceil(N/4)",
                   {{"W", std::int64_t{-1}}, {"reward_input", std::string("posterior_mean")}},
                   "docs/METHODS.md §0: the first edition's values"}};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    const auto w = params.get_int("W");
    if (w == 0) throw SettingError("method.W", "method.W = 0 must be >= 1 (or -1 for ceil(N/4))");
    common_params::require_at_most(params, "W", steps, "N");
  }

  int max_active(const SettingValues& /*params*/, int /*steps*/) const override { return 1; }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int k = uniform_int(ctx.rng, 1, window(params, ctx.steps()));
    Plan plan;
    if (params.get_choice("reward_input") == "posterior_mean") {
      Program program = plan_builders::cached_program(k);
      program.segments.push_back(
          plan_builders::single_term_segment(k, 0, k, ctx.schedule.t[k], VelocityInput::Cached, Pin::None));
      plan.programs.push_back(program);
    } else {
      Program program = plan_builders::cached_program(ctx.steps());
      program.segments.push_back(plan_builders::euler_segment(ctx.schedule, ctx.steps(), 0, {k}, Pin::Guard));
      plan.programs.push_back(program);
    }
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(Refl, "refl", FLOWBP_IN_TREE_VERSION)
