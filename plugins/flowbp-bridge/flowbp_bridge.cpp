// FlowBP-Bridge (FlowBP A.4): Euler reconstruction split at a sampled index s, with
// K actives shared by the two segments and the post segment's anchor s re-forwarded
// on the β-scaled reconstructed state: one Jacobian factor, no connector residual.
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

class FlowbpBridge final : public Method {
 public:
  MethodInfo info() const override {
    return {"flowbp-bridge", "FlowBP-Bridge",
            "Euler reconstruction N -> s -> 0 with K late-biased actives split across s, beta-scaled bridge at s",
            "Wang, Niu, Zhou, Huang, Liu, Zhang, 2026, Exploring the design space of reward backpropagation for "
            "flow matching (FlowBP), A.4",
            {"Euler reconstruction", "K late-biased, split across s (s always active)", "Euler",
             "reconstruction, beta"}};
  }

  std::vector<SettingSpec> settings() const override {
    std::vector<SettingSpec> specs = {
        SettingSpec::integer("K", 8, 2, std::nullopt,
                           "active budget over both segments (the authors' code defaults to 4)"),
        common_params::late_bias_gamma(2.0),
        common_params::beta(0.3),
        common_params::grad_rescale_strength(),
        SettingSpec::choice("grad_rescale_scope", "surrogate", {"surrogate", "segment"},
                          "surrogate: one rho over all N steps (the authors' code, METHODS.md); segment: one rho "
                          "per segment (the paper's text)")};
    common_params::append(specs, common_params::leap_sampling());
    return specs;
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    common_params::validate_leap(params, steps);
    common_params::require_at_most(params, "K", steps, "N");
  }

  int max_active(const SettingValues& params, int /*steps*/) const override {
    return static_cast<int>(params.get_int("K"));
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int n = ctx.steps();
    const int s = common_params::sample_leap(params, ctx).s;  // j = N: only the split point is used
    const double gamma = params.get_real("late_bias_gamma");
    const auto [pre_count, post_count] = plan_builders::split_budget(static_cast<int>(params.get_int("K")), n - s, s);

    const std::vector<int> pre_active = sample_late_biased(ctx.schedule, s + 1, n, pre_count, gamma, ctx.rng);
    std::vector<int> post_active = {s};  // the bridge anchor is always active
    if (post_count > 1)
      for (int i : sample_late_biased(ctx.schedule, 1, s - 1, post_count - 1, gamma, ctx.rng)) post_active.push_back(i);

    Segment pre = plan_builders::euler_segment(ctx.schedule, n, s, pre_active, Pin::None);
    Segment post = plan_builders::euler_segment(ctx.schedule, s, 0, post_active, Pin::Guard);
    Term& anchor = plan_builders::term_at(post, s);
    anchor.input = VelocityInput::Bridge;
    anchor.beta = params.get_real("beta");

    const double strength = params.get_real("grad_rescale_strength");
    const double full = plan_builders::abs_weight(pre) + plan_builders::abs_weight(post);
    const double active = plan_builders::abs_active_weight(pre) + plan_builders::abs_active_weight(post);
    double logged = plan_builders::grad_rescale(full, active, strength);
    if (params.get_choice("grad_rescale_scope") == "surrogate") {
      plan_builders::scale_active(pre, logged);
      plan_builders::scale_active(post, logged);
    } else {
      const double rho_pre = plan_builders::grad_rescale(plan_builders::abs_weight(pre),
                                                         plan_builders::abs_active_weight(pre), strength);
      const double rho_post = plan_builders::grad_rescale(plan_builders::abs_weight(post),
                                                          plan_builders::abs_active_weight(post), strength);
      plan_builders::scale_active(pre, rho_pre);
      plan_builders::scale_active(post, rho_post);
      // One number for the log: the active-weight average of the two factors.
      logged = (rho_pre * plan_builders::abs_active_weight(pre) + rho_post * plan_builders::abs_active_weight(post)) /
               active;
    }

    Program program = plan_builders::cached_program(n);
    program.segments.push_back(pre);
    program.segments.push_back(post);
    Plan plan;
    plan.programs.push_back(program);
    plan.grad_rescale_factor = logged;
    plan.j = n;
    plan.s = s;
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(FlowbpBridge, "flowbp-bridge", FLOWBP_IN_TREE_VERSION)
