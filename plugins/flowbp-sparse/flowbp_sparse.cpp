// FlowBP-Sparse (FlowBP A.3): Euler replay of the whole rollout with K late-biased
// steps re-forwarded on detached inputs; no bridge, so no Jacobian factor at all.
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

class FlowbpSparse final : public Method {
 public:
  MethodInfo info() const override {
    return {"flowbp-sparse", "FlowBP-Sparse",
            "Euler reconstruction of the endpoint with K late-biased active steps, rho-rescaled, no bridge",
            "Wang, Niu, Zhou, Huang, Liu, Zhang, 2026, Exploring the design space of reward backpropagation for "
            "flow matching (FlowBP), A.3",
            {"Euler reconstruction", "K late-biased over {1..N}", "Euler", "none"}};
  }

  std::vector<SettingSpec> settings() const override {
    return {SettingSpec::integer("K", 6, 1, std::nullopt, "number of active (re-forwarded) steps"),
            common_params::late_bias_gamma(1.0), common_params::grad_rescale_strength()};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    common_params::require_at_most(params, "K", steps, "N");
  }

  int max_active(const SettingValues& params, int /*steps*/) const override {
    return static_cast<int>(params.get_int("K"));
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int n = ctx.steps();
    const std::vector<int> active = sample_late_biased(ctx.schedule, 1, n, static_cast<int>(params.get_int("K")),
                                                       params.get_real("late_bias_gamma"), ctx.rng);
    Segment replay = plan_builders::euler_segment(ctx.schedule, n, 0, active, Pin::Guard);
    const double rho = plan_builders::grad_rescale(plan_builders::abs_weight(replay),
                                                   plan_builders::abs_active_weight(replay),
                                                   params.get_real("grad_rescale_strength"));
    plan_builders::scale_active(replay, rho);
    Program program = plan_builders::cached_program(n);
    program.segments.push_back(replay);

    Plan plan;
    plan.programs.push_back(program);
    plan.grad_rescale_factor = rho;
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(FlowbpSparse, "flowbp-sparse", FLOWBP_IN_TREE_VERSION)
