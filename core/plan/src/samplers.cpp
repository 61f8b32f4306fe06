#include "flowbp/samplers.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace flowbp {

int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

std::vector<int> split_lengths(const double p[3], int total, int l1_max) {
  if (total < 1) throw std::invalid_argument("leap range must span at least one step");
  std::vector<int> len(3);
  std::vector<double> remainder(3);
  int used = 0;
  for (int k = 0; k < 3; ++k) {
    double exact = p[k] * total;
    len[k] = static_cast<int>(std::floor(exact));
    remainder[k] = exact - len[k];
    used += len[k];
  }
  std::vector<int> order = {0, 1, 2};
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return remainder[a] > remainder[b]; });
  for (int k = 0; used < total; ++k, ++used) ++len[order[k % 3]];
  if (len[1] < 1) {  // the gap j − s must be at least one step
    int donor = len[0] >= len[2] ? 0 : 2;
    --len[donor];
    ++len[1];
  }
  if (l1_max >= 0 && len[0] > l1_max) {
    len[2] += len[0] - l1_max;
    len[0] = l1_max;
  }
  return len;
}

namespace {
int resolve_r_max(int steps, int r_max) {
  int hi = r_max < 0 ? steps - 1 : std::min(r_max, steps - 1);
  return hi;
}
LeapIndices from_reverse(int steps, int r_j, int r_s) { return {steps - r_j, steps - r_s}; }
}  // namespace

LeapIndices sample_dirichlet_leap(int steps, const DirichletSettings& settings, std::mt19937_64& rng) {
  if (steps < 2) throw std::invalid_argument("a leap needs N >= 2");
  int r_min = std::max(0, settings.r_min);
  int r_max = resolve_r_max(steps, settings.r_max);
  if (r_max <= r_min) throw std::invalid_argument("leap range [r_min, r_max] is empty");
  double g[3];
  double sum = 0;
  for (int k = 0; k < 3; ++k) {
    g[k] = std::gamma_distribution<double>(settings.alpha[k], 1.0)(rng);
    sum += g[k];
  }
  double p[3];
  for (int k = 0; k < 3; ++k) p[k] = sum > 0 ? g[k] / sum : 1.0 / 3;
  auto len = split_lengths(p, r_max - r_min, settings.l1_max);
  int r_j = r_min + len[0];
  int r_s = r_j + len[1];
  return from_reverse(steps, r_j, r_s);
}

LeapIndices sample_uniform_leap(int steps, int r_min, int r_max, std::mt19937_64& rng) {
  r_min = std::max(0, r_min);
  r_max = resolve_r_max(steps, r_max);
  if (r_max <= r_min) throw std::invalid_argument("leap range [r_min, r_max] is empty");
  int a = uniform_int(rng, r_min, r_max);
  int b = uniform_int(rng, r_min, r_max - 1);
  if (b >= a) ++b;  // distinct
  return from_reverse(steps, std::min(a, b), std::max(a, b));
}

LeapIndices midpoint_leap(int steps, int r_min, int r_max) {
  r_min = std::max(0, r_min);
  r_max = resolve_r_max(steps, r_max);
  if (r_max <= r_min) throw std::invalid_argument("leap range [r_min, r_max] is empty");
  int r_s = r_min + std::max(1, (r_max - r_min + 1) / 2);
  return from_reverse(steps, r_min, std::min(r_s, r_max));
}

std::vector<int> sample_late_biased(const Schedule& schedule, int lo, int hi, int count, double gamma,
                                    std::mt19937_64& rng) {
  if (lo > hi) throw std::invalid_argument("empty index segment");
  int n = hi - lo + 1;
  if (count > n)
    throw std::invalid_argument("cannot draw " + std::to_string(count) + " distinct indices from " +
                                std::to_string(n));
  const double inv_n = 1.0 / schedule.steps();
  std::vector<int> pool(n);
  std::iota(pool.begin(), pool.end(), lo);
  std::vector<double> weight(n);
  for (int k = 0; k < n; ++k) weight[k] = std::pow(1.0 - schedule.t[pool[k]] + inv_n, gamma);
  std::vector<int> picked;
  for (int draw = 0; draw < count; ++draw) {  // sequential draws without replacement
    double total = std::accumulate(weight.begin(), weight.end(), 0.0);
    double u = std::uniform_real_distribution<double>(0.0, total)(rng);
    int k = 0;
    for (; k < n - 1; ++k) {
      if (weight[k] > 0 && u < weight[k]) break;
      u -= weight[k];
    }
    while (weight[k] == 0) --k;  // round-off landed past the last live entry
    picked.push_back(pool[k]);
    weight[k] = 0;
  }
  std::sort(picked.rbegin(), picked.rend());
  return picked;
}

}  // namespace flowbp
