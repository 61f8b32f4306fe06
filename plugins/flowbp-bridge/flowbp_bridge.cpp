// FlowBP-Bridge (FlowBP A.4): Euler reconstruction split at a sampled index s, with
// K actives shared by the two segments and the post segment's anchor s re-forwarded
// on the β-scaled reconstructed state: one Jacobian factor, no connector residual.
#include <cmath>
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

// Σ|w| over the segment's terms at indices ≤ top (the trainable tail), in term order.
double abs_weight_upto(const Segment& segment, int top) {
  double sum = 0;
  for (const auto& term : segment.terms)
    if (term.index <= top) sum += std::abs(term.weight);
  return sum;
}

// The authors' SD3.5-M config: uniform (docs/METHODS.md §4); alphas: their argparse default.
const common_params::LeapDefaults kLeapDefaults{"uniform", {4.2, 4.2, 4.2}, -1};

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
    std::vector<SettingSpec> specs = {SettingSpec::integer(
        "K", 8, 2, std::nullopt, "active budget over both segments (the authors' argparse default is 3)")};
    common_params::append(specs, common_params::late_bias(4.0));
    common_params::append(
        specs, {common_params::beta(0.3), common_params::grad_rescale_strength(),
                SettingSpec::choice("grad_rescale_scope", "segment", {"segment", "surrogate"},
                                  "segment: one rho per segment over its own steps (the paper's Eq. 42); surrogate: "
                                  "one rho pooled over all steps and actives (the authors' code, the first edition)"),
                common_params::rounding()});
    common_params::append(specs, common_params::leap_sampling(kLeapDefaults));
    return specs;
  }

  // The authors' released FlowBP-Bridge configs; each value's file and line:
  // docs/methods/flowbp-bridge.md.
  std::vector<Preset> presets() const override {
    auto authors = [](const std::string& name, const std::string& what, const std::string& file, std::int64_t k,
                      double gamma, double beta, double strength) {
      return Preset{name,
                    "the authors' released FlowBP-Bridge config for " + what,
                    {{"K", k},
                     {"late_bias_gamma", gamma},
                     {"late_bias", std::string("steps")},
                     {"late_bias_origin", std::string("segment")},
                     {"beta", beta},
                     {"grad_rescale_strength", strength},
                     {"grad_rescale_scope", std::string("surrogate")},
                     {"rounding", std::string("half_even")},
                     {"leap_sampler", std::string("uniform")},
                     {"alpha1", 4.2},
                     {"alpha2", 4.2},
                     {"alpha3", 4.2},
                     {"i_min", std::int64_t{1}},
                     {"i_max", std::int64_t{26}},
                     {"s_max", std::int64_t{-1}},
                     {"tail_ratio", 1.0}},
                    std::string("RuoyuWang-2077/FlowBP@93b220ad:") + file};
    };
    return {authors("authors-sd35", "SD3.5-M", "configs/final/sd35/sd3_5_flowbp_bridge.yaml", 5, 4.0, 0.5, 0.0),
            authors("authors-flux1", "FLUX.1-dev", "configs/final/flux1/flux1_flowbp_bridge.yaml", 5, 2.0, 0.1, 1.0),
            authors("authors-flux2", "FLUX.2-klein-base-9B",
                    "configs/final/flux2/flux2_klein_base_9b_flowbp_bridge.yaml", 3, 4.0, 1.0, 0.5),
            Preset{"spec-v1",
                   "first edition (docs/METHODS.md §0): pooled rho, time-based late bias, Dirichlet(1, 1, 1) "
                   "from the noise end",
                   {{"K", std::int64_t{8}},
                    {"late_bias_gamma", 2.0},
                    {"late_bias", std::string("time")},
                    {"late_bias_origin", std::string("global")},
                    {"beta", 0.3},
                    {"grad_rescale_strength", 1.0},
                    {"grad_rescale_scope", std::string("surrogate")},
                    {"rounding", std::string("first_edition")},
                    {"leap_sampler", std::string("dirichlet_v1")},
                    {"alpha1", 1.0},
                    {"alpha2", 1.0},
                    {"alpha3", 1.0},
                    {"r_min", std::int64_t{0}},
                    {"r_max", std::int64_t{-1}},
                    {"l1_max", std::int64_t{-1}}},
                   "docs/METHODS.md §0: the first edition's values"}};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    common_params::validate_leap(params, steps, kLeapDefaults);
    common_params::require_at_most(params, "K", steps, "N");
    common_params::validate_late_bias(params);
  }

  int max_active(const SettingValues& params, int /*steps*/) const override {
    return static_cast<int>(params.get_int("K"));
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int n = ctx.steps();
    const int s = common_params::sample_leap(params, ctx).s;  // j = N: only the split point is used
    // The trainable tail {1..top} (all of {1..N} unless tail_ratio < 1): where pre actives
    // are drawn and what the rescaling ranges cover.
    const int top = common_params::first_edition_leap(params) ? n : tail_top(n, params.get_real("tail_ratio"), 3);
    const int budget = static_cast<int>(params.get_int("K"));
    const auto [pre_count, post_count] = common_params::rounds_half_even(params)
                                             ? plan_builders::split_budget(budget, top - s, s)
                                             : plan_builders::split_budget_v1(budget, top - s, s);

    const std::vector<int> pre_active =
        common_params::sample_late(params, ctx.schedule, s + 1, top, top, pre_count, ctx.rng);
    std::vector<int> post_active = {s};  // the bridge anchor is always active; s − 1 is the post origin
    if (post_count > 1)
      for (int i : common_params::sample_late(params, ctx.schedule, 1, s - 1, s - 1, post_count - 1, ctx.rng))
        post_active.push_back(i);

    Segment pre = plan_builders::euler_segment(ctx.schedule, n, s, pre_active, Pin::None);
    Segment post = plan_builders::euler_segment(ctx.schedule, s, 0, post_active, Pin::Guard);
    Term& anchor = plan_builders::term_at(post, s);
    anchor.input = VelocityInput::Bridge;
    anchor.beta = params.get_real("beta");

    Plan plan;
    const double strength = params.get_real("grad_rescale_strength");
    if (params.get_choice("grad_rescale_scope") == "surrogate") {
      const double rho = plan_builders::grad_rescale(
          abs_weight_upto(pre, top) + plan_builders::abs_weight(post),
          plan_builders::abs_active_weight(pre) + plan_builders::abs_active_weight(post), strength);
      plan_builders::scale_active(pre, rho);
      plan_builders::scale_active(post, rho);
      plan.grad_rescale_factor = rho;
    } else {
      const double rho_pre =
          plan_builders::grad_rescale(abs_weight_upto(pre, top), plan_builders::abs_active_weight(pre), strength);
      const double rho_post = plan_builders::grad_rescale(plan_builders::abs_weight(post),
                                                          plan_builders::abs_active_weight(post), strength);
      plan_builders::scale_active(pre, rho_pre);
      plan_builders::scale_active(post, rho_post);
      plan.grad_rescale_factor = rho_pre;
      plan.grad_rescale_factor_post = rho_post;
    }

    Program program = plan_builders::cached_program(n);
    program.segments.push_back(pre);
    program.segments.push_back(post);
    plan.programs.push_back(program);
    plan.j = n;
    plan.s = s;
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(FlowbpBridge, "flowbp-bridge", FLOWBP_IN_TREE_VERSION)
