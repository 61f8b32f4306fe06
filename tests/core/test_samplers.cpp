
#include <cmath>
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "flowbp/plan_builders.h"
#include "flowbp/quadrature.h"
#include "flowbp/samplers.h"
#include "flowbp/time_shift.h"
#include <doctest.h>

using namespace flowbp;

TEST_CASE("uniform and shifted schedules run from 1 to 0 monotonically") {
  for (double shift : {1.0, 3.0}) {
    Schedule s = Schedule::make(25, shift);
    CHECK(s.t[25] == 1.0);
    CHECK(s.t[0] == 0.0);
    for (int i = 1; i <= 25; ++i) CHECK(s.dt(i) > 0);
  }
  CHECK(Schedule::make(4).t[1] == 0.25);
  // The SD3 warp pushes interior times towards noise.
  CHECK(Schedule::make(4, 3.0).t[2] == doctest::Approx(3 * 0.5 / (1 + 2 * 0.5)));
  CHECK_THROWS(Schedule::make(0));
}

// The authors' N = 25 training schedules at 512×512 (their sigmas[f] = our t_{25−f},
// computed with their schedulers' formulas in numpy float32, six decimals): SD3.5-M's static shift 3,
// FLUX.1-dev's dynamic shift (mu = 0.63 from L = 1024 tokens between (256, 0.5) and
// (4096, 1.15)) and FLUX.2-klein's empirical mu (1.880616 at L = 1024, N = 25).
TEST_CASE("static, dynamic and empirical shifts reproduce the authors' N = 25 sigma tables") {
  const double sd35[25] = {1.0,      0.986301, 0.971831, 0.956522, 0.940299, 0.923077, 0.904762, 0.885246, 0.864407,
                           0.842105, 0.818182, 0.792453, 0.764706, 0.734694, 0.702128, 0.666667, 0.627907, 0.585366,
                           0.538462, 0.486486, 0.428571, 0.363636, 0.290323, 0.206897, 0.111111};
  const double flux1[25] = {1.0,      0.978290, 0.955738, 0.932291, 0.907898, 0.882497, 0.856028, 0.828419, 0.799596,
                            0.769478, 0.737974, 0.704987, 0.670411, 0.634126, 0.596003, 0.555899, 0.513656, 0.469096,
                            0.422026, 0.372226, 0.319451, 0.263428, 0.203846, 0.140355, 0.072557};
  const double flux2[25] = {1.0,      0.993686, 0.986913, 0.979629, 0.971773, 0.963276, 0.954056, 0.944016, 0.933042,
                            0.920998, 0.907718, 0.893002, 0.876604, 0.858219, 0.837461, 0.813839, 0.786718, 0.755256,
                            0.718322, 0.674352, 0.621124, 0.555369, 0.472075, 0.363147, 0.214596};
  TimeShift sd3;
  sd3.shift = 3.0;
  TimeShift dynamic;
  dynamic.mode = "dynamic";
  dynamic.image_seq_len = 1024;  // (512/16)²: FLUX's packed 2×2 patches of an 8× VAE latent
  TimeShift empirical;
  empirical.mode = "empirical";
  empirical.image_seq_len = 1024;
  CHECK(dynamic.mu(25) == doctest::Approx(0.63).epsilon(1e-12));
  CHECK(empirical.mu(25) == doctest::Approx(1.880616).epsilon(1e-6));
  CHECK(empirical.mu(50) == doctest::Approx(1.701956).epsilon(1e-6));  // their FLUX.2 evaluation at N = 50
  CHECK(dynamic.mu(50) == dynamic.mu(25));                             // FLUX.1's mu does not depend on N
  struct Case {
    const char* name;
    const TimeShift* shift;
    const double* sigmas;
  };
  for (const Case& c : {Case{"sd35", &sd3, sd35}, Case{"flux1", &dynamic, flux1}, Case{"flux2", &empirical, flux2}}) {
    CAPTURE(c.name);
    const Schedule s = Schedule::make(25, c.shift->shift_for(25));
    for (int f = 0; f < 25; ++f) {
      CAPTURE(f);
      CHECK(std::abs(s.t[25 - f] - c.sigmas[f]) < 1.5e-6);
      // The schedule is diffusers' exponential time shift (σ = 1) of the uniform grid.
      if (!c.shift->is_static())
        CHECK(s.t[25 - f] == doctest::Approx(exponential_time_shift(c.shift->mu(25), (25.0 - f) / 25.0)).epsilon(1e-14));
    }
    CHECK(s.t[0] == 0.0);
  }
  // Above 4300 tokens the empirical fit ignores N.
  empirical.image_seq_len = 8192;
  CHECK(empirical.mu(25) == doctest::Approx(0.00016927 * 8192 + 0.45666666));
  CHECK(empirical.mu(25) == empirical.mu(50));
  CHECK_THROWS(flux_dynamic_mu(1024, 256, 256, 0.5, 1.15));
}

TEST_CASE("Dirichlet lengths sum to L, keep a gap, and respect the l1 cap") {
  const double p[3] = {0.7, 0.0, 0.3};
  auto len = split_lengths(p, 10, -1);
  CHECK(len[0] + len[1] + len[2] == 10);
  CHECK(len[1] >= 1);
  auto capped = split_lengths(p, 10, 2);
  CHECK(capped[0] == 2);
  CHECK(capped[0] + capped[1] + capped[2] == 10);
  const double q[3] = {0.34, 0.33, 0.33};
  auto even = split_lengths(q, 24, -1);
  CHECK(even == std::vector<int>{8, 8, 8});
}

TEST_CASE("every leap sampler returns N >= j > s >= 1 inside the valid range") {
  std::mt19937_64 rng(7);
  for (int n : {2, 3, 25, 100}) {
    DirichletSettings d;
    for (int k = 0; k < 300; ++k) {
      auto a = sample_dirichlet_leap(n, d, rng);
      CHECK(a.j <= n);
      CHECK(a.j > a.s);
      CHECK(a.s >= 1);
      auto b = sample_uniform_leap(n, 0, -1, rng);
      CHECK(b.j <= n);
      CHECK(b.j > b.s);
      CHECK(b.s >= 1);
    }
    auto m = midpoint_leap(n, 0, -1);
    CHECK(m.j == n);
    CHECK(m.s >= 1);
    CHECK(m.s < m.j);
  }
  DirichletSettings narrow;
  narrow.r_min = 5;
  narrow.r_max = 10;
  for (int k = 0; k < 200; ++k) {
    auto a = sample_dirichlet_leap(25, narrow, rng);
    CHECK(25 - a.j >= 5);
    CHECK(25 - a.s <= 10);
  }
}

TEST_CASE("the Dirichlet sampler is reproducible from its stream") {
  std::mt19937_64 a(3), b(3);
  for (int k = 0; k < 50; ++k) {
    auto x = sample_dirichlet_leap(25, {}, a);
    auto y = sample_dirichlet_leap(25, {}, b);
    CHECK(x.j == y.j);
    CHECK(x.s == y.s);
  }
}

TEST_CASE("late-biased draws are distinct, in range, and favour late steps as gamma grows") {
  Schedule s = Schedule::make(50);
  std::mt19937_64 rng(11);
  auto mean_index = [&](double gamma) {
    double sum = 0;
    int count = 0;
    for (int k = 0; k < 400; ++k) {
      auto idx = sample_late_biased(s, 1, 50, 6, gamma, rng);
      CHECK(std::set<int>(idx.begin(), idx.end()).size() == 6);
      CHECK(idx.front() <= 50);
      CHECK(idx.back() >= 1);
      CHECK(std::is_sorted(idx.rbegin(), idx.rend()));
      for (int i : idx) sum += i, ++count;
    }
    return sum / count;
  };
  const double uniform = mean_index(0.0), late = mean_index(2.0);
  CHECK(uniform == doctest::Approx(25.5).epsilon(0.08));
  CHECK(late < uniform - 5);
  CHECK_THROWS(sample_late_biased(s, 1, 3, 4, 1.0, rng));
}

TEST_CASE("supports spread evenly with both ends and no duplicates") {
  CHECK(spread_supports(20, 11, 3) == std::vector<int>{20, 15, 11});
  CHECK(spread_supports(10, 1, 1) == std::vector<int>{10});
  CHECK(spread_supports(3, 2, 3) == std::vector<int>{3, 2});  // short segment uses what it has
  CHECK_THROWS(spread_supports(3, 1, 0));
}

TEST_CASE("Lagrange weights reproduce the integral of low-degree polynomials") {
  std::vector<double> nodes = {0.9, 0.7, 0.55};
  auto w = lagrange_weights(nodes, 0.5, 0.9);
  for (int degree = 0; degree <= 2; ++degree) {
    double quad = 0;
    for (std::size_t p = 0; p < nodes.size(); ++p) quad += w[p] * std::pow(nodes[p], degree);
    double exact = (std::pow(0.9, degree + 1) - std::pow(0.5, degree + 1)) / (degree + 1);
    CHECK(quad == doctest::Approx(exact).epsilon(1e-12));
  }
  auto u = uniform_weights(3, 0.5, 0.9);
  CHECK(std::accumulate(u.begin(), u.end(), 0.0) == doctest::Approx(0.4));
  CHECK(euler_weights(Schedule::make(4), 4, 2) == std::vector<double>{0.25, 0.25});
}

// ---- Second edition: the authors' samplers (docs/METHODS.md §4) ------------------------

TEST_CASE("round_half_even is Python's round") {
  CHECK(round_half_even(0.5) == 0);
  CHECK(round_half_even(1.5) == 2);
  CHECK(round_half_even(2.5) == 2);
  CHECK(round_half_even(3.5) == 4);
  CHECK(round_half_even(2.4999) == 2);
  CHECK(round_half_even(2.5001) == 3);
  CHECK(round_half_even(-2.5) == -2);
  CHECK(round_half_even(7.0) == 7);
}

TEST_CASE("the Dirichlet layout from the clean end, as the authors' _dirichlet_sample") {
  const LeapWindow window{1, 26};  // N = 25: [1, 26), L = 25
  {  // worked example: lengths (8, 12, 5) -> s = 9, j = 21
    const float p[3] = {0.3f, 0.5f, 0.2f};
    const DirichletLayout d = dirichlet_layout(p, window, -1);
    CHECK(std::vector<int>(d.lengths, d.lengths + 3) == std::vector<int>{8, 12, 5});
    CHECK(d.leap.s == 9);
    CHECK(d.leap.j == 21);
    CHECK_FALSE(d.truncated);
  }
  {  // the cap bounds s = lo + l1 <= s_max; the overflow goes to l3, the gap is kept
    const float p[3] = {0.6f, 0.3f, 0.1f};
    const DirichletLayout free = dirichlet_layout(p, window, -1);
    const DirichletLayout capped = dirichlet_layout(p, window, 10);
    CHECK(free.leap.s == 16);
    CHECK(capped.leap.s == 10);
    CHECK(capped.truncated);
    CHECK(capped.lengths[1] == free.lengths[1]);
    CHECK(capped.leap.j - capped.leap.s == free.leap.j - free.leap.s);
  }
  {  // ties round to even: 0.1·25 = 2.5 -> 2, 0.5·25 = 12.5 -> 12; the remainder goes to the largest p
    const float p[3] = {0.1f, 0.5f, 0.4f};
    const DirichletLayout d = dirichlet_layout(p, window, -1);
    CHECK(std::vector<int>(d.lengths, d.lengths + 3) == std::vector<int>{2, 13, 10});
    CHECK(d.leap.s == 3);
    CHECK(d.leap.j == 16);
  }
  {  // every length at least 1: s >= lo + 1 and j <= hi - 1 = N
    const float p[3] = {0.0f, 0.0f, 1.0f};
    const DirichletLayout d = dirichlet_layout(p, window, -1);
    CHECK(d.lengths[0] == 1);
    CHECK(d.lengths[1] == 1);
    CHECK(d.leap.s == 2);
    CHECK(d.leap.j == 3);
    const float q[3] = {0.0f, 1.0f, 0.0f};
    CHECK(dirichlet_layout(q, window, -1).leap.j == 25);  // (1, 23, 1): j = N
  }
}

TEST_CASE("the leap window: [i_min, i_max) clipped to the tail, at least 3 indices") {
  const LeapWindow w = leap_window(25, 1, -1, 1.0);
  CHECK(w.lo == 1);
  CHECK(w.hi == 26);
  CHECK(leap_window(25, 1, 26, 0.7).hi == 19);  // ceil(17.5) = 18, + 1
  CHECK(leap_window(10, 1, 26, 1.0).hi == 11);  // the authors' 26 clipped at N = 10
  CHECK(leap_window(25, 2, 12, 1.0).hi == 12);
  CHECK(tail_top(25, 0.1, 3) == 3);  // at least three steps
  CHECK_THROWS(leap_window(2, 1, -1, 1.0));
  CHECK_THROWS(leap_window(25, 5, 7, 1.0));
}

TEST_CASE("midpoint rules as the authors': s = ceil(j/2); j the midpoint of [s, N]") {
  CHECK(midpoint_pair(25, 25).s == 13);
  CHECK(midpoint_pair(25, 10).s == 5);
  CHECK(midpoint_pair(25, 2).s == 1);
  CHECK(midpoint_j_pair(25, 1).j == 13);
  CHECK(midpoint_j_pair(25, 24).j == 25);
  CHECK(midpoint_j_pair(25, 10).j == 18);
}

TEST_CASE("every leap sampler draws inside what reachable_pairs lists, and reaches all of it") {
  const double alpha[3] = {2.5, 6.0, 2.0};
  std::mt19937_64 rng(5);
  for (LeapSampler sampler : {LeapSampler::Dirichlet, LeapSampler::Uniform, LeapSampler::Midpoint, LeapSampler::MidpointJ}) {
    for (int s_max : {-1, 4}) {
      const int n = 8;
      const LeapWindow window = leap_window(n, 1, -1, 1.0);
      std::set<std::pair<int, int>> reachable, seen;
      for (const LeapIndices& l : reachable_pairs(sampler, n, window, s_max)) reachable.insert({l.s, l.j});
      const double flat[3] = {1.0, 1.0, 1.0};
      for (int k = 0; k < 20000; ++k) {
        const LeapIndices l = sample_leap_pair(sampler, n, window, sampler == LeapSampler::Dirichlet ? flat : alpha,
                                               s_max, rng);
        seen.insert({l.s, l.j});
      }
      CAPTURE(static_cast<int>(sampler));
      CAPTURE(s_max);
      CHECK(seen == reachable);
    }
  }
}

TEST_CASE("the late bias counted in steps: weights (origin - i + 1)^gamma; the whole range without a draw") {
  std::mt19937_64 rng(3);
  const std::mt19937_64 before = rng;
  CHECK(sample_late_biased_steps(1, 4, 4, 4, 2.0, rng) == std::vector<int>{4, 3, 2, 1});
  const bool no_draw = rng == before;
  CHECK(no_draw);
  CHECK(sample_late_biased_steps(1, 4, 4, 0, 2.0, rng).empty());
  // One from {1..4} with origin 4: weights 1, 4, 9, 16 for i = 4, 3, 2, 1.
  std::map<int, int> count;
  for (int k = 0; k < 40000; ++k) ++count[sample_late_biased_steps(1, 4, 4, 1, 2.0, rng)[0]];
  CHECK(count[1] / 40000.0 == doctest::Approx(16.0 / 30).epsilon(0.03));
  CHECK(count[4] / 40000.0 == doctest::Approx(1.0 / 30).epsilon(0.1));
  CHECK_THROWS(sample_late_biased_steps(1, 5, 4, 1, 1.0, rng));  // the origin lies below the segment's top
}

TEST_CASE("Lagrange supports as the authors' (half to even) and as the first edition (half away)") {
  CHECK(interval_supports(20, 8, 3) == std::vector<int>{20, 14, 8});
  CHECK(interval_supports(7, 1, 3) == std::vector<int>{7, 4, 1});
  CHECK(interval_supports(25, 3, 3) == std::vector<int>{25, 14, 3});
  CHECK(interval_supports(2, 1, 3) == std::vector<int>{2, 1});  // a leap of at most P indices: all of them
  CHECK(interval_supports(20, 15, 3) == std::vector<int>{20, 18, 15});  // 2.5 -> 2
  CHECK(spread_supports(20, 15, 3) == std::vector<int>{20, 17, 15});    // 2.5 -> 3
  CHECK(interval_supports(10, 1, 1) == std::vector<int>{10});
}

TEST_CASE("Bridge's budget split as the authors' _allocate_flowbp_bridge_active_counts") {
  using flowbp::plan_builders::split_budget;
  using flowbp::plan_builders::split_budget_v1;
  CHECK(split_budget(5, 20, 5) == std::pair<int, int>{4, 1});
  CHECK(split_budget(5, 13, 12) == std::pair<int, int>{3, 2});
  CHECK(split_budget(5, 5, 20) == std::pair<int, int>{1, 4});
  CHECK(split_budget(4, 6, 6) == std::pair<int, int>{2, 2});
  CHECK(split_budget(3, 6, 6) == std::pair<int, int>{2, 1});     // round(1.5) = 2
  CHECK(split_budget_v1(3, 6, 6) == std::pair<int, int>{2, 1});  // lround(1.5) = 2 as well
  CHECK(split_budget(5, 10, 10) == std::pair<int, int>{2, 3});   // round(2.5) = 2
  CHECK(split_budget_v1(5, 10, 10) == std::pair<int, int>{3, 2});  // lround(2.5) = 3
  CHECK(split_budget(8, 24, 1) == std::pair<int, int>{7, 1});
  CHECK(split_budget(30, 5, 3) == std::pair<int, int>{5, 3});    // capped at the segments
}
