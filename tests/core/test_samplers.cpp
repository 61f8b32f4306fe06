
#include <cmath>
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "flowbp/quadrature.h"
#include "flowbp/samplers.h"
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
