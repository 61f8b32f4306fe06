// Invariant 6: leap residuals vanish for a field constant along its paths, and on an
// analytic curved field the P = 3 Lagrange rule leaves far smaller residuals over a
// long leap than LeapAlign's single velocity (P = 1) or equal weights (Fig. 4, 7).

#include "fixture.h"
#include "flowbp/schedule.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;

namespace {

constexpr int kBatch = 5;
constexpr int kDim = 3;

// v(x, t) = (x − m)/t: every Euler path is the straight line x_t = m + t(ε − m), on
// which v = ε − m never changes, though the field itself depends on x.
VelocityFn straight_field() {
  const at::Tensor m = plugtest::gaussian({kDim}, 77);
  return [m](const at::Tensor& x, double t) { return (x - m) / t; };
}

// A field that bends with time only, so the exact leap integral is known in closed form.
VelocityFn curved_field() {
  const at::Tensor a = plugtest::gaussian({kDim}, 78);
  const at::Tensor b = plugtest::gaussian({kDim}, 79);
  return [a, b](const at::Tensor& x, double t) {
    return at::zeros_like(x) + a * std::sin(4.0 * t) + b * (t * t * t - 0.5 * t);
  };
}

double total_residual(const SurrogateOutput& out) {
  return out.d_s.mean().item<double>() + out.d_0.mean().item<double>();
}

}  // namespace

TEST_CASE("invariant 6: a field constant along its paths leaves zero residual at every connector") {
  const VelocityFn v = straight_field();
  for (int n : {10, 25}) {
    const Rollout rollout = cached_rollout(v, plugtest::gaussian({kBatch, kDim}, 5), Schedule::make(n, 2.0));
    for (const auto& [name, given] : std::vector<std::pair<std::string, std::map<std::string, SettingValue>>>{
             {"leapalign", {}},
             // any rule whose weights sum to the interval is exact here, negative weights included
             {"flowbp-lagrange", {{"negative_weights", std::string("allow")}}},
             {"flowbp-lagrange", {{"P", std::int64_t{4}}, {"negative_weights", std::string("allow")}}},
             {"flowbp-lagrange", {{"weights", std::string("uniform")}}}}) {
      for (std::uint64_t seed = 0; seed < 10; ++seed) {
        CAPTURE(name);
        CAPTURE(n);
        CAPTURE(seed);
        const Plan plan = plugtest::draw_plan(name, given, rollout.schedule, seed);
        const SurrogateOutput out = build_surrogate(v, rollout, plan);
        REQUIRE(out.d_s.defined());
        REQUIRE(out.d_0.defined());
        CHECK(out.d_s.max().item<double>() < 1e-12);
        CHECK(out.d_0.max().item<double>() < 1e-12);
      }
    }
  }
}

TEST_CASE("invariant 6: over a long leap on a curved field, P = 3 Lagrange residuals are far below P = 1 and uniform") {
  const VelocityFn v = curved_field();
  // Many steps, so the cached Euler rollout is itself close to the exact flow and the
  // residual measures the leap rule, not the rollout's own discretisation error.
  const int n = 400;
  const Rollout rollout = cached_rollout(v, plugtest::gaussian({kBatch, kDim}, 6), Schedule::make(n));
  // The first edition's deterministic midpoint: 400 -> 200 -> 0.
  const std::map<std::string, SettingValue> long_leap = {{"leap_sampler", std::string("midpoint_v1")}};
  auto residual = [&](const std::string& name, std::map<std::string, SettingValue> given) {
    given.insert(long_leap.begin(), long_leap.end());
    const Plan plan = plugtest::draw_plan(name, given, rollout.schedule, 0);
    REQUIRE(plan.j == 400);
    REQUIRE(plan.s == 200);
    return total_residual(build_surrogate(v, rollout, plan));
  };
  const double lagrange3 = residual("flowbp-lagrange", {});
  const double lagrange1 = residual("flowbp-lagrange", {{"P", std::int64_t{1}}});
  const double leapalign = residual("leapalign", {});
  const double uniform3 = residual("flowbp-lagrange", {{"weights", std::string("uniform")}});
  MESSAGE("mean d_s + d_0 over the leap 400 -> 200 -> 0: Lagrange P=3 " << lagrange3 << ", P=1 " << lagrange1
                                                                      << ", uniform " << uniform3);
  CHECK(lagrange1 == doctest::Approx(leapalign).epsilon(1e-12));
  CHECK(lagrange3 < 0.02 * lagrange1);
  CHECK(lagrange3 < 0.1 * uniform3);
  CHECK(lagrange3 > 0);  // the cached Euler rollout is not the exact integral
}
