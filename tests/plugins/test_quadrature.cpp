// Invariant 5, on the weights the Lagrange plugin actually puts into its plans:
// each leap's weights sum to its interval, integrate degree <= (#supports − 1)
// polynomials in t exactly, and are positive at the default P = 3.

#include <cmath>

#include "fixture.h"
#include "flowbp/plan.h"
#include "flowbp/quadrature.h"
#include "flowbp/schedule.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;

namespace {

// Σ_p w_p t_p^k against ∫_lo^hi t^k dt, for k = 0..degree.
double worst_moment_error(const Segment& segment, const Schedule& schedule, int degree) {
  const double lo = schedule.t[segment.to];
  const double hi = schedule.t[segment.from];
  double worst = 0;
  for (int k = 0; k <= degree; ++k) {
    double rule = 0;
    for (const auto& term : segment.terms) rule += term.weight * std::pow(schedule.t[term.index], k);
    const double exact = (std::pow(hi, k + 1) - std::pow(lo, k + 1)) / (k + 1);
    worst = std::max(worst, std::abs(rule - exact));
  }
  return worst;
}

}  // namespace

TEST_CASE("invariant 5: Lagrange weights sum to the interval and integrate polynomials of degree <= P-1 exactly") {
  for (int n : {5, 10, 25, 50}) {
    for (double shift : {1.0, 3.0}) {
      const Schedule schedule = Schedule::make(n, shift);
      for (int points : {1, 2, 3, 4}) {
        for (std::uint64_t seed = 0; seed < 25; ++seed) {
          CAPTURE(n);
          CAPTURE(shift);
          CAPTURE(points);
          CAPTURE(seed);
          const Plan plan = plugtest::draw_plan(
              "flowbp-lagrange", {{"P", std::int64_t{points}}, {"negative_weights", std::string("allow")}}, schedule,
              seed);
          for (const auto& segment : plan.programs[0].segments) {
            const int supports = static_cast<int>(segment.terms.size());
            CHECK(supports <= points);
            CHECK(supports == std::min(points, segment.from - std::max(segment.to, 1) + (segment.to == 0 ? 1 : 0)));
            double sum = 0;
            for (const auto& term : segment.terms) sum += term.weight;
            // The rule is integrated in the monomial basis, exact to ~1e-11 relative for P <= 4.
            CHECK(sum == doctest::Approx(schedule.t[segment.from] - schedule.t[segment.to]).epsilon(1e-10));
            CHECK(worst_moment_error(segment, schedule, supports - 1) < 1e-10);
            if (points == 3 && shift == 1.0) {  // on a uniform grid; see the shifted case below
              for (const auto& term : segment.terms) CHECK(term.weight >= 0);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("degree P is not integrated exactly: the rule is genuinely of order P") {
  const Schedule schedule = Schedule::make(50);
  const Plan plan = plugtest::draw_plan("flowbp-lagrange", {{"leap_sampler", std::string("midpoint_v1")}}, schedule, 0);
  for (const auto& segment : plan.programs[0].segments) {
    REQUIRE(segment.terms.size() == 3);
    CHECK(worst_moment_error(segment, schedule, 2) < 1e-12);
    CHECK(worst_moment_error(segment, schedule, 3) > 1e-6);
  }
}

TEST_CASE("the default P = 3 rule has strictly positive weights on long leaps, the uniform rule equal ones") {
  const Schedule schedule = Schedule::make(25);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const Plan plan = plugtest::draw_plan("flowbp-lagrange", {}, schedule, seed);
    for (const auto& segment : plan.programs[0].segments)
      if (segment.from - segment.to >= 4)
        for (const auto& term : segment.terms) CHECK(term.weight > 0);
    const Plan uniform =
        plugtest::draw_plan("flowbp-lagrange", {{"weights", std::string("uniform")}}, schedule, seed);
    for (const auto& segment : uniform.programs[0].segments) {
      const double each = (schedule.t[segment.from] - schedule.t[segment.to]) / segment.terms.size();
      for (const auto& term : segment.terms) CHECK(term.weight == doctest::Approx(each).epsilon(1e-14));
    }
  }
}

TEST_CASE("on a shifted grid a two-node leap extrapolates to a negative anchor weight; reduce falls back") {
  // Leap 4 -> 2 has supports {4, 3} and integrates over [t_2, t_4]; with shift 3 the
  // step t_3 − t_2 is longer than t_4 − t_3, so the linear rule extrapolates past its nodes.
  const Schedule schedule = Schedule::make(5, 3.0);
  const std::map<std::string, SettingValue> leap = {{"leap_sampler", std::string("midpoint_v1")},
                                                  {"r_min", std::int64_t{1}}};  // j = 4, s = 2
  CHECK_THROWS_WITH_AS(plugtest::draw_plan("flowbp-lagrange", leap, schedule, 0),
                       doctest::Contains("negative Lagrange weight"), SettingError);
  auto allow = leap;
  allow["negative_weights"] = std::string("allow");
  const Plan allowed = plugtest::draw_plan("flowbp-lagrange", allow, schedule, 0);
  REQUIRE(allowed.j == 4);
  REQUIRE(allowed.s == 2);
  const Segment& pre = allowed.programs[0].segments[0];
  REQUIRE(pre.terms.size() == 2);
  CHECK(pre.terms[0].weight < 0);
  CHECK(worst_moment_error(pre, schedule, 1) < 1e-12);  // still the exact linear rule
  auto reduce = leap;
  reduce["negative_weights"] = std::string("reduce");
  const Plan reduced = plugtest::draw_plan("flowbp-lagrange", reduce, schedule, 0);
  REQUIRE(reduced.programs[0].segments[0].terms.size() == 1);  // back to LeapAlign's single velocity
  CHECK(reduced.programs[0].segments[0].terms[0].weight == doctest::Approx(schedule.t[4] - schedule.t[2]));
}

TEST_CASE("Lagrange weights stay accurate for fine grids: N = 2000 gives no round-off negative weight") {
  // Three nodes 2/N apart near t = 1: in t itself the monomial coefficients cancel
  // (−2.4e-10 seen at N = 2000); on the leap mapped to [0, 1] the weights are exact to
  // round-off, positive, and integrate 1, (t − lo) and (t − lo)² exactly (moments about lo:
  // those of t itself would lose the digits to cancellation in the reference too).
  for (int n : {400, 2000, 20000}) {
    CAPTURE(n);
    const Schedule s = Schedule::make(n);
    const std::vector<double> nodes = {s.t[n - 2], s.t[n - 4], s.t[n - 6]};  // Simpson: 1/6, 4/6, 1/6
    const double lo = s.t[n - 6], hi = s.t[n - 2];
    const auto w = lagrange_weights(nodes, lo, hi);
    CHECK(w[0] == doctest::Approx((hi - lo) / 6).epsilon(1e-12));
    CHECK(w[1] == doctest::Approx(4 * (hi - lo) / 6).epsilon(1e-12));
    CHECK(w[2] == doctest::Approx((hi - lo) / 6).epsilon(1e-12));
    for (int k = 0; k < 3; ++k) {
      double quad = 0;
      for (std::size_t p = 0; p < 3; ++p) quad += w[p] * std::pow(nodes[p] - lo, k);
      const double exact = std::pow(hi - lo, k + 1) / (k + 1);
      CHECK(quad == doctest::Approx(exact).epsilon(1e-12));
    }
  }
}
