// LeapAlign (Liang et al., 2026): two single-velocity leaps j → s → 0, each pinned
// to the cached rollout by a straight-through connector, with the β-scaled bridge.
#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

// The authors' argparse defaults: no LeapAlign config sets a sampler (docs/METHODS.md §4).
const common_params::LeapDefaults kLeapDefaults{"uniform", {4.2, 4.2, 4.2}, -1};

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
    common_params::append(specs, common_params::leap_sampling(kLeapDefaults));
    common_params::append(specs, common_params::connector_weighting());
    return specs;
  }

  // The authors' released LeapAlign configs (configs/final/<backbone>/*leapalign.yaml of
  // RuoyuWang-2077/FlowBP); each value's file and line: docs/methods/leapalign.md.
  std::vector<Preset> presets() const override {
    auto authors = [](const std::string& name, const std::string& what, const std::string& file) {
      return Preset{name,
                    "the authors' released LeapAlign config for " + what,
                    {{"beta", 0.3},
                     {"leap_sampler", std::string("uniform")},
                     {"alpha1", 4.2},
                     {"alpha2", 4.2},
                     {"alpha3", 4.2},
                     {"i_min", std::int64_t{1}},
                     {"i_max", std::int64_t{26}},
                     {"s_max", std::int64_t{-1}},
                     {"tail_ratio", 1.0},
                     {"trajectory_weighting", true},
                     {"trajectory_weighting_normalize", false},
                     {"residual_floor", 0.1}},
                    std::string("RuoyuWang-2077/FlowBP@93b220ad:") + file};
    };
    return {authors("authors-sd35", "SD3.5-M", "configs/final/sd35/sd3_5_leapalign.yaml"),
            authors("authors-flux1", "FLUX.1-dev", "configs/final/flux1/flux1_leapalign.yaml"),
            authors("authors-flux2", "FLUX.2-klein-base-9B", "configs/final/flux2/flux2_klein_base_9b_leapalign.yaml"),
            Preset{"spec-v1",
                   "first edition (docs/METHODS.md §0): Dirichlet(1, 1, 1) laid out from the noise end over "
                   "N - 1 steps",
                   {{"beta", 0.3},
                    {"leap_sampler", std::string("dirichlet_v1")},
                    {"alpha1", 1.0},
                    {"alpha2", 1.0},
                    {"alpha3", 1.0},
                    {"r_min", std::int64_t{0}},
                    {"r_max", std::int64_t{-1}},
                    {"l1_max", std::int64_t{-1}},
                    {"trajectory_weighting", true},
                    {"trajectory_weighting_normalize", false},
                    {"residual_floor", 0.1}},
                   "docs/METHODS.md §0: the first edition's values"}};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    common_params::validate_leap(params, schedule.steps(), kLeapDefaults);
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
