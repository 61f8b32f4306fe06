// LeapAlign (Liang et al., 2026): two single-velocity leaps j → s → 0, each pinned
// to the cached rollout by a straight-through connector, with the β-scaled bridge.
#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

class LeapAlign final : public Method {
 public:
  MethodInfo info() const override {
    return {"leapalign", "LeapAlign",
            "two one-velocity leaps j -> s -> 0 pinned by straight-through connectors, beta-scaled bridge at s",
            "Liang et al., 2026, LeapAlign: post-training flow matching models at any generation step by building "
            "two-step trajectories (arXiv:2604.15311)",
            {"endpoint connector", "{j, s}, (j, s) from the leap sampler", "one-velocity leaps t_j - t_s, t_s",
             "connector, beta"}};
  }

  std::vector<SettingSpec> settings() const override {
    std::vector<SettingSpec> specs = {common_params::beta(0.3)};
    common_params::append(specs, common_params::leap_sampling());
    common_params::append(specs, common_params::connector_weighting());
    return specs;
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    common_params::validate_leap(params, schedule.steps());
  }

  int max_active(const SettingValues& /*params*/, int /*steps*/) const override { return 2; }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const auto& t = ctx.schedule.t;
    const LeapIndices leap = common_params::sample_leap(params, ctx);
    Program program = plan_builders::cached_program(leap.j);
    program.segments.push_back(plan_builders::single_term_segment(leap.j, leap.s, leap.j, t[leap.j] - t[leap.s],
                                                                  VelocityInput::Cached, Pin::Connector));
    Segment post = plan_builders::single_term_segment(leap.s, 0, leap.s, t[leap.s], VelocityInput::Bridge,
                                                      Pin::Connector);
    post.terms[0].beta = params.get_real("beta");
    program.segments.push_back(post);

    Plan plan;
    plan.programs.push_back(program);
    common_params::apply_weighting(params, plan);
    plan.j = leap.j;
    plan.s = leap.s;
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(LeapAlign, "leapalign", FLOWBP_IN_TREE_VERSION)
