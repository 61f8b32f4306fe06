// FlowBP-Lagrange (FlowBP A.2): LeapAlign's two connector-pinned leaps, each
// integrated by a P-point Lagrange rule over cached and re-forwarded velocities.
#include <algorithm>
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

Leap make_leap(const Schedule& schedule, int from, int to, int last_support, int points, bool lagrange) {
  Leap leap{from, to, spread_supports(from, last_support, points), {}};
  std::vector<double> nodes;
  for (int i : leap.supports) nodes.push_back(schedule.t[i]);
  const double lo = schedule.t[to], hi = schedule.t[from];
  leap.weights = lagrange ? lagrange_weights(nodes, lo, hi) : uniform_weights(nodes.size(), lo, hi);
  // A weight that is zero in exact arithmetic (e.g. the anchor of a two-node rule over
  // two uniform steps, which is the midpoint rule) comes out as −1e-16 … −1e-13 (seen:
  // −8.5e-14 on a 34 → 31 leap at N = 40): call it zero. Real negative weights are
  // many orders larger (−1.4e-3 for P = 4 on a 5 → 0 leap).
  for (double& w : leap.weights)
    if (w < 0 && w > -1e-9 * (hi - lo)) w = 0.0;
  return leap;
}

bool has_negative(const Leap& leap) {
  for (double w : leap.weights)
    if (w < 0) return true;
  return false;
}

// negative_weights = "reduce": fewer supports in this leap until no weight is negative
// (one support, the LeapAlign leap, always qualifies).
Leap reduce_until_positive(const Schedule& schedule, int from, int to, int last_support, int points, bool lagrange) {
  Leap leap = make_leap(schedule, from, to, last_support, points, lagrange);
  for (int p = static_cast<int>(leap.supports.size()) - 1; has_negative(leap) && p >= 1; --p)
    leap = make_leap(schedule, from, to, last_support, p, lagrange);
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

class FlowbpLagrange final : public Method {
 public:
  MethodInfo info() const override {
    return {"flowbp-lagrange", "FlowBP-Lagrange",
            "LeapAlign's two connector leaps j -> s -> 0, each a P-point Lagrange quadrature with <= K active supports",
            "Wang, Niu, Zhou, Huang, Liu, Zhang, 2026, Exploring the design space of reward backpropagation for "
            "flow matching (FlowBP), A.2",
            {"endpoint connector", "<= K supports (anchors j, s always)", "Lagrange quadrature", "connector, beta"}};
  }

  std::vector<SettingSpec> settings() const override {
    std::vector<SettingSpec> specs = {
        SettingSpec::integer("P", 3, 1, 16, "supports per leap, spread evenly with both ends included; 1 is LeapAlign"),
        SettingSpec::integer("K", 4, 2, std::nullopt, "active-support budget over both leaps (anchors j, s included)"),
        SettingSpec::real("support_scale", 0.5, 0.0, 1.0, "lambda: extra gradient scale of non-anchor active supports"),
        common_params::beta(0.3),
        SettingSpec::choice("weights", "lagrange", {"lagrange", "uniform"},
                          "lagrange: integrated Lagrange basis (Eq. 15-16); uniform: equal coefficients (Fig. 4 control)"),
        SettingSpec::choice("negative_weights", "error", {"error", "reduce", "allow"},
                          "a leap whose Lagrange weights go negative (short leaps on a shifted schedule, large P): "
                          "refuse it, drop to fewer supports for that leap until none is negative, or use it as it is"),
        common_params::grad_rescale_strength()};
    common_params::append(specs, common_params::leap_sampling());
    common_params::append(specs, common_params::connector_weighting());
    return specs;
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    common_params::validate_leap(params, steps);
    if (params.get_choice("negative_weights") != "error" || params.get_choice("weights") != "lagrange") return;
    // Refuse now what plan() would refuse at some later step: every leap the sampler can draw.
    const int points = static_cast<int>(params.get_int("P"));
    const int r_min = static_cast<int>(params.get_int("r_min"));
    int r_max = static_cast<int>(params.get_int("r_max"));
    if (r_max < 0) r_max = steps - 1;
    if (params.get_choice("leap_sampler") == "midpoint") {
      const LeapIndices leap = midpoint_leap(steps, r_min, r_max);
      refuse_negative(make_leap(schedule, leap.j, leap.s, leap.s + 1, points, true), points);
      refuse_negative(make_leap(schedule, leap.s, 0, 1, points, true), points);
      return;
    }
    int r_j_max = r_max - 1;
    const auto l1_max = params.get_int("l1_max");
    if (l1_max >= 0 && params.get_choice("leap_sampler") == "dirichlet")
      r_j_max = std::min<int>(r_j_max, r_min + static_cast<int>(l1_max));
    for (int r_s = r_min + 1; r_s <= r_max; ++r_s)
      refuse_negative(make_leap(schedule, steps - r_s, 0, 1, points, true), points);
    for (int r_j = r_min; r_j <= r_j_max; ++r_j)
      for (int r_s = r_j + 1; r_s <= r_max; ++r_s) {
        const int j = steps - r_j, s = steps - r_s;
        refuse_negative(make_leap(schedule, j, s, s + 1, points, true), points);
      }
  }

  int max_active(const SettingValues& params, int /*steps*/) const override {
    const int points = static_cast<int>(params.get_int("P"));
    return std::min(static_cast<int>(params.get_int("K")), 2 * points);
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int points = static_cast<int>(params.get_int("P"));
    const bool lagrange = params.get_choice("weights") == "lagrange";
    const LeapIndices leap = common_params::sample_leap(params, ctx);
    const std::string& negative = params.get_choice("negative_weights");
    const auto build = negative == "reduce" ? reduce_until_positive : make_leap;
    const Leap pre = build(ctx.schedule, leap.j, leap.s, leap.s + 1, points, lagrange);
    const Leap post = build(ctx.schedule, leap.s, 0, 1, points, lagrange);
    if (negative == "error") {
      refuse_negative(pre, points);
      refuse_negative(post, points);
    }

    Segment pre_segment = plan_builders::quadrature_segment(pre.from, pre.to, pre.supports, pre.weights, Pin::Connector);
    Segment post_segment =
        plan_builders::quadrature_segment(post.from, post.to, post.supports, post.weights, Pin::Connector);
    pre_segment.terms.front().active = true;  // anchor j, on sg(x_j)
    Term& bridge = post_segment.terms.front();  // anchor s, on gs(x̃_s; β)
    bridge.active = true;
    bridge.input = VelocityInput::Bridge;
    bridge.beta = params.get_real("beta");

    // Non-anchor supports of both leaps compete, in random order, for the K − 2 free slots.
    std::vector<Term*> others;
    for (Segment* segment : {&pre_segment, &post_segment})
      for (std::size_t p = 1; p < segment->terms.size(); ++p) others.push_back(&segment->terms[p]);
    std::shuffle(others.begin(), others.end(), ctx.rng);
    const std::size_t free_slots = static_cast<std::size_t>(params.get_int("K")) - 2;
    const double support_scale = params.get_real("support_scale");
    for (std::size_t k = 0; k < std::min(free_slots, others.size()); ++k) {
      others[k]->active = true;
      others[k]->grad_scale = support_scale;
    }

    const double rho = plan_builders::grad_rescale(
        plan_builders::abs_weight(pre_segment) + plan_builders::abs_weight(post_segment),
        plan_builders::abs_active_weight(pre_segment) + plan_builders::abs_active_weight(post_segment),
        params.get_real("grad_rescale_strength"));
    plan_builders::scale_active(pre_segment, rho);
    plan_builders::scale_active(post_segment, rho);

    Program program = plan_builders::cached_program(leap.j);
    program.segments.push_back(pre_segment);
    program.segments.push_back(post_segment);
    Plan plan;
    plan.programs.push_back(program);
    plan.grad_rescale_factor = rho;
    plan.j = leap.j;
    plan.s = leap.s;
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(FlowbpLagrange, "flowbp-lagrange", FLOWBP_IN_TREE_VERSION)
