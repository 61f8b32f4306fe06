// Bad settings fail with a message that names the key, the value and the bound.

#include "fixture.h"
#include "flowbp/plan.h"
#include "flowbp/schedule.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;

namespace {

std::string error_of(const std::string& name, const std::map<std::string, SettingValue>& given, int steps) {
  try {
    plugtest::settings(name, given, steps);
  } catch (const SettingError& e) {
    return e.what();
  }
  return "(no error)";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("K larger than the rollout is refused with both numbers") {
  CHECK(has(error_of("flowbp-sparse", {{"K", std::int64_t{30}}}, 25), "method.K = 30 must be <= N = 25"));
  CHECK(has(error_of("flowbp-bridge", {{"K", std::int64_t{30}}}, 25), "method.K = 30 must be <= N = 25"));
  CHECK(has(error_of("full-bp", {{"K", std::int64_t{30}}}, 25), "method.K = 30 must be <= N = 25"));
  CHECK(has(error_of("drtune", {{"K", std::int64_t{25}}}, 25), "method.K = 25 must be <= N - 1 = 24"));
  CHECK(has(error_of("refl", {{"W", std::int64_t{26}}}, 25), "method.W = 26 must be <= N = 25"));
  CHECK(has(error_of("full-bp", {{"K", std::int64_t{0}}}, 25), "method.K = 0 must be >= 1"));
  CHECK(error_of("flowbp-sparse", {{"K", std::int64_t{25}}}, 25) == "(no error)");
}

TEST_CASE("beta outside [0, 1] is refused for every bridged method") {
  for (const char* name : {"leapalign", "flowbp-bridge", "flowbp-lagrange"}) {
    CAPTURE(name);
    CHECK(has(error_of(name, {{"beta", 1.5}}, 25), "method.beta: 1.5 is out of range: expected real in [0, 1]"));
    CHECK(has(error_of(name, {{"beta", -0.1}}, 25), "method.beta: -0.1 is out of range: expected real in [0, 1]"));
  }
}

TEST_CASE("Lagrange needs P >= 1 and an active budget K >= 2") {
  CHECK(has(error_of("flowbp-lagrange", {{"P", std::int64_t{0}}}, 25), "method.P: 0 is out of range: expected integer in [1, 16]"));
  CHECK(has(error_of("flowbp-lagrange", {{"K", std::int64_t{1}}}, 25), "method.K: 1 is out of range: expected integer >= 2"));
  CHECK(has(error_of("flowbp-lagrange", {{"support_scale", 2.0}}, 25), "method.support_scale: 2.0 is out of range"));
}

TEST_CASE("leap ranges are checked against N") {
  const SettingValue v1 = std::string("uniform_v1");
  CHECK(has(error_of("leapalign", {{"leap_sampler", v1}, {"r_max", std::int64_t{30}}}, 25),
            "method.r_max = 30 must be <= N - 1 = 24"));
  CHECK(has(error_of("flowbp-lagrange",
                     {{"leap_sampler", std::string("dirichlet_v1")}, {"r_min", std::int64_t{10}}, {"r_max", std::int64_t{10}}}, 25),
            "method.r_min = 10 must be < r_max = 10"));
  CHECK(has(error_of("leapalign", {{"leap_sampler", v1}}, 1), "a leap method needs N >= 2"));
  CHECK(error_of("leapalign", {{"leap_sampler", v1}}, 2) == "(no error)");
  // The authors' window [i_min, i_max) must span 3 indices; it is clipped to the tail.
  CHECK(has(error_of("leapalign", {}, 2), "a leap method needs N >= 3"));
  CHECK(error_of("leapalign", {}, 3) == "(no error)");
  CHECK(has(error_of("leapalign", {{"i_min", std::int64_t{5}}, {"i_max", std::int64_t{7}}}, 25),
            "the leap window [i_min, i_max) = [5, 7) must span at least 3 indices"));
  CHECK(error_of("leapalign", {{"i_max", std::int64_t{26}}}, 10) == "(no error)");  // clipped to N + 1
  CHECK(has(error_of("flowbp-lagrange", {{"i_min", std::int64_t{20}}, {"tail_ratio", 0.7}}, 25),
            "[20, 19) must span at least 3 indices"));
  CHECK(has(error_of("leapalign", {{"s_max", std::int64_t{0}}}, 25), "method.s_max = 0 lies below"));
  CHECK(has(error_of("leapalign", {{"tail_ratio", 0.0}}, 25), "method.tail_ratio"));
}

TEST_CASE("the settings of one edition's leap samplers are refused with the other edition's sampler") {
  CHECK(has(error_of("leapalign", {{"r_min", std::int64_t{1}}}, 25),
            "method.r_min = 1 applies to the *_v1 samplers, not method.leap_sampler = \"uniform\" (use i_min, i_max, s_max)"));
  CHECK(has(error_of("flowbp-bridge", {{"l1_max", std::int64_t{3}}}, 25), "method.l1_max = 3 applies to the *_v1 samplers"));
  CHECK(has(error_of("leapalign", {{"leap_sampler", std::string("dirichlet_v1")}, {"i_min", std::int64_t{2}}}, 25),
            "method.i_min = 2 applies to the second edition's samplers"));
  // A method's own s_max default (Lagrange: 10) is not "given".
  CHECK(error_of("flowbp-lagrange", {{"leap_sampler", std::string("dirichlet_v1")}}, 25) == "(no error)");
  CHECK(has(error_of("flowbp-lagrange", {{"leap_sampler", std::string("dirichlet_v1")}, {"s_max", std::int64_t{-1}}}, 25),
            "method.s_max = -1 applies to the second edition's samplers"));
}

TEST_CASE("late bias: time-based with a segment origin is refused; strength above 1 is allowed") {
  CHECK(has(error_of("flowbp-sparse", {{"late_bias", std::string("time")}}, 25),
            "method.late_bias_origin = \"segment\" is not defined for method.late_bias = \"time\""));
  CHECK(error_of("flowbp-sparse", {{"late_bias", std::string("time")}, {"late_bias_origin", std::string("global")}}, 25) ==
        "(no error)");
  CHECK(error_of("flowbp-bridge", {{"late_bias_origin", std::string("global")}}, 25) == "(no error)");
  for (const char* name : {"flowbp-sparse", "flowbp-bridge", "flowbp-lagrange"}) {
    CAPTURE(name);
    CHECK(error_of(name, {{"grad_rescale_strength", 2.5}}, 25) == "(no error)");
    CHECK(has(error_of(name, {{"grad_rescale_strength", -0.5}}, 25), "out of range"));
  }
}

TEST_CASE("an unknown setting names the method and suggests the closest one") {
  const std::string m = error_of("leapalign", {{"bta", 0.5}}, 25);
  CHECK(has(m, "method.bta: unknown setting for method 'leapalign'"));
  CHECK(has(m, "did you mean 'beta'?"));
  CHECK(has(error_of("flowbp-lagrange", {{"suport_scale", 0.5}}, 25), "did you mean 'support_scale'?"));
  CHECK(has(error_of("flowbp-bridge", {{"grad_rescale_scope", std::string("segmnt")}}, 25),
            "did you mean 'segment'?"));
  CHECK(has(error_of("refl", {{"reward_input", std::string("posterior")}}, 25), "is not one of"));
}

TEST_CASE("an unknown method name suggests the closest loaded method") {
  std::string message;
  try {
    plugtest::registry().get("leapalgin");
  } catch (const SettingError& e) {
    message = e.what();
  }
  CHECK(has(message, "unknown method 'leapalgin'"));
  CHECK(has(message, "did you mean 'leapalign'?"));
  CHECK(has(message, "flowbp-lagrange"));  // and lists what is loaded
}

TEST_CASE("a Lagrange rule with negative weights is refused, or used as it is when allowed") {
  // Ten supports on the post leap s = 10 -> 0 over t in (0, 0.5]: a high-order rule
  // extrapolating past its last node, whose weights change sign.
  const Schedule schedule = Schedule::make(20);
  const std::map<std::string, SettingValue> high = {{"P", std::int64_t{10}},
                                                  {"leap_sampler", std::string("midpoint_v1")}};
  std::string message;
  try {
    plugtest::draw_plan("flowbp-lagrange", high, schedule, 0);
  } catch (const SettingError& e) {
    message = e.what();
  }
  CHECK(has(message, "method.P = 10: negative Lagrange weight"));
  CHECK(has(message, "at index"));
  CHECK(has(message, "negative_weights = \"reduce\""));

  auto allowed = high;
  allowed["negative_weights"] = std::string("allow");
  const Plan plan = plugtest::draw_plan("flowbp-lagrange", allowed, schedule, 0);
  bool negative = false;
  for (const auto& segment : plan.programs[0].segments)
    for (const auto& term : segment.terms) negative = negative || term.weight < 0;
  CHECK(negative);
  CHECK_THROWS_AS(check_plan(plan, 20, "flowbp-lagrange", false), std::logic_error);
  CHECK_NOTHROW(check_plan(plan, 20, "flowbp-lagrange", true));

  // "reduce" drops supports on the offending leap only, until every weight is >= 0.
  auto reduced = high;
  reduced["negative_weights"] = std::string("reduce");
  const Plan fewer = plugtest::draw_plan("flowbp-lagrange", reduced, schedule, 0);
  CHECK_NOTHROW(check_plan(fewer, 20, "flowbp-lagrange", false));
  const auto& post = fewer.programs[0].segments[1];
  CHECK(post.terms.size() < 10);
  CHECK(post.terms.size() > 1);
  double sum = 0;
  for (const auto& term : post.terms) sum += term.weight;
  CHECK(sum == doctest::Approx(schedule.t[10]));
}

TEST_CASE("flowbp-lagrange refuses negative quadrature weights when the config is checked, not mid-run") {
  const Method& lagrange = plugtest::method("flowbp-lagrange");
  auto check = [&](const std::map<std::string, SettingValue>& given, int steps, double shift) {
    try {
      resolve_method_params(lagrange, given, steps, shift);
    } catch (const SettingError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  // P = 4 extrapolates short post-leaps to t = 0 with a negative weight (5 -> 0 at N = 25).
  const std::string p4 = check({{"P", std::int64_t{4}}}, 25, 1.0);
  CHECK(has(p4, "method.P = 4: negative Lagrange weight"));
  CHECK(has(p4, "negative_weights = \"reduce\""));
  CHECK(check({{"P", std::int64_t{4}}, {"negative_weights", std::string("reduce")}}, 25, 1.0) == "(no error)");
  CHECK(check({{"P", std::int64_t{4}}, {"negative_weights", std::string("allow")}}, 25, 1.0) == "(no error)");
  CHECK(check({{"P", std::int64_t{4}}, {"weights", std::string("uniform")}}, 25, 1.0) == "(no error)");
  // A shifted grid makes two-support leaps go negative even at the default P = 3.
  CHECK(has(check({}, 25, 3.0), "negative Lagrange weight"));
  // The defaults on a uniform grid are valid for every leap the sampler can draw: weights
  // that are zero in exact arithmetic (−8.5e-14 on 34 -> 31 at N = 40) are not negative.
  for (int steps : {3, 10, 25, 40, 50, 100}) {
    CAPTURE(steps);
    CHECK(check({}, steps, 1.0) == "(no error)");
  }
}

TEST_CASE("FlowBP-Lagrange refusing negative weights still accepts fine grids: round-off is not a negative weight") {
  // negative_weights = "error" (the first edition's rule) checks every leap the sampler can
  // draw when the config is checked; at N = 2000 round-off once looked like −2.4e-10.
  for (int n : {400, 2000}) {
    CAPTURE(n);
    CHECK_NOTHROW(resolve_method_params(plugtest::method("flowbp-lagrange"), "spec-v1", {}, n));
  }
  // A real negative weight is still refused, naming the leap.
  CHECK_THROWS_WITH_AS(
      resolve_method_params(plugtest::method("flowbp-lagrange"), "spec-v1", {{"P", std::int64_t{4}}}, 25),
      doctest::Contains("negative Lagrange weight"), SettingError);
}
