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
    std::vector<SettingSpec> specs = {SettingSpec::integer("K", 6, 1, std::nullopt, "number of active (re-forwarded) steps")};
    common_params::append(specs, common_params::late_bias(1.0));
    specs.push_back(common_params::grad_rescale_strength());
    return specs;
  }

  // The authors' released FlowBP-Sparse configs; each value's file and line:
  // docs/methods/flowbp-sparse.md.
  std::vector<Preset> presets() const override {
    auto authors = [](const std::string& name, const std::string& what, const std::string& file, std::int64_t k,
                      double gamma, double strength) {
      return Preset{name,
                    "the authors' released FlowBP-Sparse config for " + what,
                    {{"K", k},
                     {"late_bias_gamma", gamma},
                     {"late_bias", std::string("steps")},
                     {"late_bias_origin", std::string("segment")},
                     {"grad_rescale_strength", strength}},
                    std::string("RuoyuWang-2077/FlowBP@93b220ad:") + file};
    };
    return {authors("authors-sd35", "SD3.5-M", "configs/final/sd35/sd3_5_flowbp_sparse.yaml", 4, 1.0, 0.5),
            authors("authors-flux1", "FLUX.1-dev", "configs/final/flux1/flux1_flowbp_sparse.yaml", 3, 2.0, 1.0),
            authors("authors-flux2", "FLUX.2-klein-base-9B",
                    "configs/final/flux2/flux2_klein_base_9b_flowbp_sparse.yaml", 4, 2.0, 0.0),
            Preset{"spec-v1",
                   "first edition (docs/METHODS.md §0): time-based late bias (1 - t_i + 1/N)^gamma",
                   {{"K", std::int64_t{6}},
                    {"late_bias_gamma", 1.0},
                    {"late_bias", std::string("time")},
                    {"late_bias_origin", std::string("global")},
                    {"grad_rescale_strength", 1.0}},
                   "docs/METHODS.md §0: the first edition's values"}};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    common_params::require_at_most(params, "K", steps, "N");
    common_params::validate_late_bias(params);
  }

  int max_active(const SettingValues& params, int /*steps*/) const override {
    return static_cast<int>(params.get_int("K"));
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int n = ctx.steps();
    // One segment {1..N}: its first candidate on the noise side is N.
    const std::vector<int> active =
        common_params::sample_late(params, ctx.schedule, 1, n, n, static_cast<int>(params.get_int("K")), ctx.rng);
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
