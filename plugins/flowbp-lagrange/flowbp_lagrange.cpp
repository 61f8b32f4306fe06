// FlowBP-Lagrange (FlowBP A.2): LeapAlign's two connector-pinned leaps, each
// integrated by a P-point Lagrange rule over cached and re-forwarded velocities.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"
#include "flowbp/quadrature.h"

namespace {

using namespace flowbp;

// One leap's supports (anchor first) and their quadrature weights.
struct Leap {
  int from = 0;
  int to = 0;
  std::vector<int> supports;
  std::vector<double> weights;
};

// How a leap's supports are laid out and weighted.
struct Rule {
  int points = 3;
  bool lagrange = true;   // else equal weights
  bool half_even = true;  // the authors' support rounding, else the first edition's
};

Leap make_leap(const Schedule& schedule, int from, int to, int last_support, const Rule& rule) {
  Leap leap{from, to,
            rule.half_even ? interval_supports(from, last_support, rule.points)
                           : spread_supports(from, last_support, rule.points),
            {}};
  std::vector<double> nodes;
  for (int i : leap.supports) nodes.push_back(schedule.t[i]);
  const double lo = schedule.t[to], hi = schedule.t[from];
  leap.weights = rule.lagrange ? lagrange_weights(nodes, lo, hi) : uniform_weights(nodes.size(), lo, hi);
  // A weight that is zero in exact arithmetic (e.g. the anchor of a two-node rule over
  // two uniform steps, which is the midpoint rule) comes out as ±1e-17: make it zero.
  // Left as it is, a negative one would be refused as a negative weight, and a positive
  // one active alone in its leap would get ρ = Σ|w| / 1e-17 (the first edition logged
  // ρ ≈ 2e17 there). The round-off scales with the leap length and, through the node
  // spacing 1/N, with N²; real weights are many orders larger (a negative one: −1.4e-3
  // for P = 4 on a 5 → 0 leap at N = 25, about 3e-2 of its length).
  const double n = static_cast<double>(schedule.steps());
  const double tolerance = 1e-13 * (hi - lo) * std::max(1.0, n * n);
  for (double& w : leap.weights)
    if (std::fabs(w) < tolerance) w = 0.0;
  return leap;
}

bool has_negative(const Leap& leap) {
  for (double w : leap.weights)
    if (w < 0) return true;
  return false;
}

// negative_weights = "reduce": fewer supports in this leap until no weight is negative
// (one support, the LeapAlign leap, always qualifies).
Leap reduce_until_positive(const Schedule& schedule, int from, int to, int last_support, const Rule& rule) {
  Leap leap = make_leap(schedule, from, to, last_support, rule);
  for (int p = static_cast<int>(leap.supports.size()) - 1; has_negative(leap) && p >= 1; --p) {
    Rule fewer = rule;
    fewer.points = p;
    leap = make_leap(schedule, from, to, last_support, fewer);
  }
  return leap;
}

void refuse_negative(const Leap& leap, int points) {
  for (std::size_t p = 0; p < leap.supports.size(); ++p) {
    if (leap.weights[p] >= 0) continue;
    std::ostringstream msg;
    msg << "method.P = " << points << ": negative Lagrange weight " << leap.weights[p] << " at index "
        << leap.supports[p] << " of the leap " << leap.from << " -> " << leap.to
        << "; lower method.P, change the leap range, or set method.negative_weights = \"reduce\" or \"allow\"";
    throw SettingError("method.P", msg.str());
  }
}

// The authors' SD3.5-M config (docs/METHODS.md §4).
const common_params::LeapDefaults kLeapDefaults{"dirichlet", {2.5, 6.0, 2.0}, 10};

class FlowbpLagrange final : public Method {
 public:
  MethodInfo info() const override {
    return {"flowbp-lagrange", "FlowBP-Lagrange",
            "LeapAlign's two connector leaps j -> s -> 0, each a P-point Lagrange quadrature over cached and "
            "re-forwarded supports",
            "Wang, Niu, Zhou, Huang, Liu, Zhang, 2026, Exploring the design space of reward backpropagation for "
            "flow matching (FlowBP), A.2",
            {"endpoint connector", "anchors j, s and the next support of each leap (support_selection)", "Lagrange quadrature",
             "connector, beta"}};
  }

  std::vector<SettingSpec> settings() const override {
    std::vector<SettingSpec> specs = {
        SettingSpec::integer("P", 3, 1, 16, "supports per leap, spread evenly with both ends included; 1 is LeapAlign"),
        SettingSpec::choice("support_selection", "midpoint", {"midpoint", "start", "all", "random"},
                          "which supports carry gradient: the authors' rules start (the anchor "
                          "only), midpoint (the anchor and the next support) and all, each capped at "
                          "max_active_supports per leap; random: the first edition's shuffle under the budget K"),
        SettingSpec::integer("max_active_supports", 2, 0, std::nullopt,
                           "per leap, anchor included, for the authors' rules; 0 means no limit"),
        SettingSpec::integer("K", 4, 2, std::nullopt,
                           "support_selection = random: active-support budget over both leaps (anchors j, s included)"),
        SettingSpec::real("support_scale", 0.25, 0.0, 1.0, "lambda: extra gradient scale of non-anchor active supports"),
        common_params::beta(0.3),
        SettingSpec::choice("weights", "lagrange", {"lagrange", "uniform"},
                          "lagrange: integrated Lagrange basis (Eq. 15-16); uniform: equal coefficients (Fig. 4 control)"),
        SettingSpec::choice("negative_weights", "error", {"error", "reduce", "allow"},
                          "a leap whose Lagrange weights go negative (short leaps on a shifted schedule, large P): "
                          "refuse it, drop to fewer supports for that leap until none is negative, or use it as it is"),
        common_params::grad_rescale_strength(),
        SettingSpec::choice("grad_rescale_scope", "leap", {"leap", "surrogate"},
                          "leap: one rho per leap over its supports (the paper's Eq. 42, the authors' code); "
                          "surrogate: one rho pooled over both leaps (the first edition)"),
        common_params::rounding()};
    common_params::append(specs, common_params::leap_sampling(kLeapDefaults));
    common_params::append(specs, common_params::connector_weighting());
    return specs;
  }

  // The authors' released FlowBP-Lagrange configs; each value's file and line:
  // docs/methods/flowbp-lagrange.md.
  std::vector<Preset> presets() const override {
    auto authors = [](const std::string& name, const std::string& what, const std::string& file, std::int64_t s_max,
                      double tail_ratio, double strength, double floor) {
      return Preset{name,
                    "the authors' released FlowBP-Lagrange config for " + what,
                    {{"P", std::int64_t{3}},
                     {"support_selection", std::string("midpoint")},
                     {"max_active_supports", std::int64_t{2}},
                     {"support_scale", 0.25},
                     {"beta", 0.1},
                     {"weights", std::string("lagrange")},
                     {"negative_weights", std::string("allow")},
                     {"grad_rescale_strength", strength},
                     {"grad_rescale_scope", std::string("leap")},
                     {"rounding", std::string("half_even")},
                     {"leap_sampler", std::string("dirichlet")},
                     {"alpha1", 2.5},
                     {"alpha2", 6.0},
                     {"alpha3", 2.0},
                     {"i_min", std::int64_t{1}},
                     {"i_max", std::int64_t{26}},
                     {"s_max", s_max},
                     {"tail_ratio", tail_ratio},
                     {"trajectory_weighting", true},
                     {"trajectory_weighting_normalize", false},
                     {"residual_floor", floor}},
                    std::string("RuoyuWang-2077/FlowBP@93b220ad:") + file};
    };
    return {authors("authors-sd35", "SD3.5-M", "configs/final/sd35/sd3_5_flowbp_lagrange.yaml", 10, 1.0, 0.0, 0.2),
            authors("authors-flux1", "FLUX.1-dev", "configs/final/flux1/flux1_flowbp_lagrange.yaml", -1, 1.0, 0.5, 0.2),
            authors("authors-flux2", "FLUX.2-klein-base-9B",
                    "configs/final/flux2/flux2_klein_base_9b_flowbp_lagrange.yaml", -1, 0.7, 0.0, 0.1),
            Preset{"spec-v1",
                   "first edition (docs/METHODS.md §0): random non-anchor supports under K, pooled rho, Dirichlet(1, 1, 1) "
                   "from the noise end",
                   {{"P", std::int64_t{3}},
                    {"support_selection", std::string("random")},
                    {"K", std::int64_t{4}},
                    {"support_scale", 0.5},
                    {"beta", 0.3},
                    {"weights", std::string("lagrange")},
                    {"negative_weights", std::string("error")},
                    {"grad_rescale_strength", 1.0},
                    {"grad_rescale_scope", std::string("surrogate")},
                    {"rounding", std::string("first_edition")},
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
    const int steps = schedule.steps();
    common_params::validate_leap(params, steps, kLeapDefaults);
    if (params.get_choice("negative_weights") != "error" || params.get_choice("weights") != "lagrange") return;
    // Refuse now what plan() would refuse at some later step: every leap the sampler can draw.
    const Rule rule = rule_of(params);
    std::vector<char> post_checked(static_cast<std::size_t>(steps) + 1, 0);
    for (const LeapIndices& leap : common_params::reachable_leaps(params, steps)) {
      refuse_negative(make_leap(schedule, leap.j, leap.s, leap.s + 1, rule), rule.points);
      if (!post_checked[static_cast<std::size_t>(leap.s)]) {
        post_checked[static_cast<std::size_t>(leap.s)] = 1;
        refuse_negative(make_leap(schedule, leap.s, 0, 1, rule), rule.points);
      }
    }
  }

  int max_active(const SettingValues& params, int /*steps*/) const override {
    const int points = static_cast<int>(params.get_int("P"));
    const std::string& selection = params.get_choice("support_selection");
    if (selection == "random") return std::min(static_cast<int>(params.get_int("K")), 2 * points);
    int per_leap = selection == "start" ? 1 : selection == "midpoint" ? std::min(2, points) : points;
    const auto cap = params.get_int("max_active_supports");
    if (cap > 0) per_leap = std::min<int>(per_leap, static_cast<int>(cap));
    return 2 * per_leap;
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const Rule rule = rule_of(params);
    const LeapIndices leap = common_params::sample_leap(params, ctx);
    const std::string& negative = params.get_choice("negative_weights");
    const auto build = negative == "reduce" ? reduce_until_positive : make_leap;
    const Leap pre = build(ctx.schedule, leap.j, leap.s, leap.s + 1, rule);
    const Leap post = build(ctx.schedule, leap.s, 0, 1, rule);
    if (negative == "error") {
      refuse_negative(pre, rule.points);
      refuse_negative(post, rule.points);
    }

    Segment pre_segment = plan_builders::quadrature_segment(pre.from, pre.to, pre.supports, pre.weights, Pin::Connector);
    Segment post_segment =
        plan_builders::quadrature_segment(post.from, post.to, post.supports, post.weights, Pin::Connector);
    pre_segment.terms.front().active = true;  // anchor j, on sg(x_j)
    Term& bridge = post_segment.terms.front();  // anchor s, on gs(x̃_s; β)
    bridge.active = true;
    bridge.input = VelocityInput::Bridge;
    bridge.beta = params.get_real("beta");

    const double support_scale = params.get_real("support_scale");
    const std::string& selection = params.get_choice("support_selection");
    if (selection == "random") {
      // Non-anchor supports of both leaps compete, in random order, for the K − 2 free slots.
      std::vector<Term*> others;
      for (Segment* segment : {&pre_segment, &post_segment})
        for (std::size_t p = 1; p < segment->terms.size(); ++p) others.push_back(&segment->terms[p]);
      std::shuffle(others.begin(), others.end(), ctx.rng);
      const std::size_t free_slots = static_cast<std::size_t>(params.get_int("K")) - 2;
      for (std::size_t k = 0; k < std::min(free_slots, others.size()); ++k) {
        others[k]->active = true;
        others[k]->grad_scale = support_scale;
      }
    } else {
      // The authors' rules, per leap over its supports in anchor-first order: start takes
      // the anchor, midpoint the anchor and the next support, all every support; then at
      // most max_active_supports of them (0: no limit).
      const auto cap = params.get_int("max_active_supports");
      for (Segment* segment : {&pre_segment, &post_segment}) {
        const std::size_t size = segment->terms.size();
        std::size_t take = selection == "start" ? 1 : selection == "midpoint" ? std::min<std::size_t>(2, size) : size;
        if (cap > 0) take = std::min<std::size_t>(take, static_cast<std::size_t>(cap));
        for (std::size_t p = 1; p < take; ++p) {
          segment->terms[p].active = true;
          segment->terms[p].grad_scale = support_scale;
        }
      }
    }

    Plan plan;
    const double strength = params.get_real("grad_rescale_strength");
    if (params.get_choice("grad_rescale_scope") == "surrogate") {
      const double rho = plan_builders::grad_rescale(
          plan_builders::abs_weight(pre_segment) + plan_builders::abs_weight(post_segment),
          plan_builders::abs_active_weight(pre_segment) + plan_builders::abs_active_weight(post_segment), strength);
      plan_builders::scale_active(pre_segment, rho);
      plan_builders::scale_active(post_segment, rho);
      plan.grad_rescale_factor = rho;
    } else {
      // Ω = the leap's own supports (the paper's Eq. 42 and the authors' per-leap factor).
      const double rho_pre = plan_builders::grad_rescale(plan_builders::abs_weight(pre_segment),
                                                         plan_builders::abs_active_weight(pre_segment), strength);
      const double rho_post = plan_builders::grad_rescale(plan_builders::abs_weight(post_segment),
                                                          plan_builders::abs_active_weight(post_segment), strength);
      plan_builders::scale_active(pre_segment, rho_pre);
      plan_builders::scale_active(post_segment, rho_post);
      plan.grad_rescale_factor = rho_pre;
      plan.grad_rescale_factor_post = rho_post;
    }

    Program program = plan_builders::cached_program(leap.j);
    program.segments.push_back(pre_segment);
    program.segments.push_back(post_segment);
    plan.programs.push_back(program);
    plan.j = leap.j;
    plan.s = leap.s;
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }

 private:
  static Rule rule_of(const SettingValues& params) {
    Rule rule;
    rule.points = static_cast<int>(params.get_int("P"));
    rule.lagrange = params.get_choice("weights") == "lagrange";
    rule.half_even = common_params::rounds_half_even(params);
    return rule;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(FlowbpLagrange, "flowbp-lagrange", FLOWBP_IN_TREE_VERSION)
