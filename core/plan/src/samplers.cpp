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

long round_half_even(double x) {
  const double below = std::floor(x);
  const double diff = x - below;
  long r = static_cast<long>(below);
  if (diff > 0.5 || (diff == 0.5 && (r % 2 != 0))) ++r;
  return r;
}

// ---- Second edition ------------------------------------------------------------------

int tail_top(int steps, double tail_ratio, int min_window) {
  if (steps < 1) throw std::invalid_argument("a rollout needs N >= 1");
  if (!(tail_ratio > 0.0 && tail_ratio <= 1.0)) throw std::invalid_argument("tail_ratio must be in (0, 1]");
  const int floor_window = std::clamp(min_window, 1, steps);
  const int w = std::max(floor_window, static_cast<int>(std::ceil(static_cast<double>(steps) * tail_ratio)));
  return std::min(w, steps);
}

LeapWindow leap_window(int steps, int i_min, int i_max, double tail_ratio) {
  const int top = tail_top(steps, tail_ratio, 3);
  LeapWindow w;
  w.lo = std::max(i_min, 1);
  w.hi = std::min(i_max < 0 ? steps + 1 : i_max, top + 1);
  if (w.hi - w.lo < 3)
    throw std::invalid_argument("the leap window [" + std::to_string(w.lo) + ", " + std::to_string(w.hi) +
                                ") spans fewer than 3 indices (N = " + std::to_string(steps) + ")");
  return w;
}

namespace {

int first_argmax(const float v[3]) {
  int best = 0;
  for (int k = 1; k < 3; ++k)
    if (v[k] > v[best]) best = k;
  return best;
}

int first_argmax(const int v[3]) {
  int best = 0;
  for (int k = 1; k < 3; ++k)
    if (v[k] > v[best]) best = k;
  return best;
}

void check_pair(const LeapIndices& leap, int steps) {
  if (!(1 <= leap.s && leap.s < leap.j && leap.j <= steps))
    throw std::logic_error("leap sampler produced an invalid pair s = " + std::to_string(leap.s) + ", j = " +
                           std::to_string(leap.j) + " (N = " + std::to_string(steps) + ")");
}

}  // namespace

DirichletLayout dirichlet_layout(const float props[3], const LeapWindow& window, int s_max) {
  const int n = window.hi - window.lo;
  DirichletLayout out;
  int sum = 0;
  for (int k = 0; k < 3; ++k) {
    const float scaled = props[k] * static_cast<float>(n);  // float32, as theirs
    out.lengths[k] = static_cast<int>(round_half_even(static_cast<double>(scaled)));
    sum += out.lengths[k];
  }
  out.lengths[first_argmax(props)] += n - sum;
  sum = 0;
  for (int& l : out.lengths) {
    l = std::max(l, 1);
    sum += l;
  }
  if (sum != n) out.lengths[first_argmax(out.lengths)] += n - sum;
  if (s_max >= 0) {
    const int cap = std::max(1, s_max - window.lo);
    if (out.lengths[0] > cap) {
      out.lengths[2] += out.lengths[0] - cap;
      out.lengths[0] = cap;
      out.truncated = true;
    }
  }
  out.leap.s = window.lo + out.lengths[0];
  out.leap.j = out.leap.s + out.lengths[1];
  return out;
}

LeapIndices sample_dirichlet_pair(const LeapWindow& window, const double alpha[3], int s_max, std::mt19937_64& rng) {
  std::mt19937_64 gamma_stream(rng());
  float g[3];
  for (int k = 0; k < 3; ++k) g[k] = static_cast<float>(std::gamma_distribution<double>(alpha[k], 1.0)(gamma_stream));
  const float sum = g[0] + g[1] + g[2];
  float props[3];
  for (int k = 0; k < 3; ++k) props[k] = sum > 0 && std::isfinite(sum) ? g[k] / sum : 1.0f / 3.0f;
  return dirichlet_layout(props, window, s_max).leap;
}

LeapIndices sample_uniform_pair(const LeapWindow& window, int s_max, std::mt19937_64& rng) {
  LeapIndices leap;
  if (s_max >= 0) {
    const int s_hi = std::min(s_max, window.hi - 2);
    if (s_hi < window.lo)
      throw std::invalid_argument("the uniform sampler's cap s_max = " + std::to_string(s_max) +
                                  " lies below the window's lowest index " + std::to_string(window.lo));
    leap.s = uniform_int(rng, window.lo, s_hi);
    leap.j = uniform_int(rng, leap.s + 1, window.hi - 1);
    return leap;
  }
  const int n = window.hi - window.lo;
  const int a = uniform_int(rng, 0, n - 1);
  int b = uniform_int(rng, 0, n - 2);
  if (b >= a) ++b;  // the first two entries of a random permutation
  leap.s = window.lo + std::min(a, b);
  leap.j = window.lo + std::max(a, b);
  return leap;
}

LeapIndices midpoint_pair(int steps, int j) {
  const int k_fwd = steps - j;        // their forward index of our j
  int s_fwd = (k_fwd + steps) / 2;    // the midpoint of [k_idx, N]
  if (s_fwd <= k_fwd) s_fwd = k_fwd + 1;
  return {j, steps - s_fwd};
}

LeapIndices midpoint_j_pair(int steps, int s) {
  const int s_fwd = steps - s;
  int j_fwd = s_fwd / 2;  // the midpoint of [0, j_idx]
  if (j_fwd >= s_fwd) j_fwd = s_fwd - 1;
  if (j_fwd < 0) j_fwd = 0;
  return {steps - j_fwd, s};
}

LeapIndices sample_midpoint_pair(int steps, const LeapWindow& window, std::mt19937_64& rng) {
  return midpoint_pair(steps, uniform_int(rng, window.lo + 1, window.hi - 1));
}

LeapIndices sample_midpoint_j_pair(int steps, const LeapWindow& window, std::mt19937_64& rng) {
  return midpoint_j_pair(steps, uniform_int(rng, window.lo, window.hi - 2));
}

LeapIndices sample_leap_pair(LeapSampler sampler, int steps, const LeapWindow& window, const double alpha[3],
                             int s_max, std::mt19937_64& rng) {
  LeapIndices leap;
  switch (sampler) {
    case LeapSampler::Dirichlet: leap = sample_dirichlet_pair(window, alpha, s_max, rng); break;
    case LeapSampler::Uniform: leap = sample_uniform_pair(window, s_max, rng); break;
    case LeapSampler::Midpoint: leap = sample_midpoint_pair(steps, window, rng); break;
    case LeapSampler::MidpointJ: leap = sample_midpoint_j_pair(steps, window, rng); break;
  }
  check_pair(leap, steps);
  return leap;
}

std::vector<LeapIndices> reachable_pairs(LeapSampler sampler, int steps, const LeapWindow& window, int s_max) {
  std::vector<LeapIndices> out;
  switch (sampler) {
    case LeapSampler::Dirichlet: {
      // Every length ≥ 1 before the cap: s in [lo + 1, hi − 2], j in [s + 1, hi − 1]; the
      // cap keeps s ≤ lo + max(1, s_max − lo) (and only lengthens ℓ_3).
      int s_hi = window.hi - 2;
      if (s_max >= 0) s_hi = std::min(s_hi, window.lo + std::max(1, s_max - window.lo));
      for (int s = window.lo + 1; s <= s_hi; ++s)
        for (int j = s + 1; j <= window.hi - 1; ++j) out.push_back({j, s});
      break;
    }
    case LeapSampler::Uniform: {
      const int s_hi = s_max >= 0 ? std::min(s_max, window.hi - 2) : window.hi - 2;
      for (int s = window.lo; s <= s_hi; ++s)
        for (int j = s + 1; j <= window.hi - 1; ++j) out.push_back({j, s});
      break;
    }
    case LeapSampler::Midpoint:
      for (int j = window.lo + 1; j <= window.hi - 1; ++j) out.push_back(midpoint_pair(steps, j));
      break;
    case LeapSampler::MidpointJ:
      for (int s = window.lo; s <= window.hi - 2; ++s) out.push_back(midpoint_j_pair(steps, s));
      break;
  }
  return out;
}

std::vector<int> sample_late_biased_steps(int lo, int hi, int origin, int count, double gamma,
                                          std::mt19937_64& rng) {
  if (lo > hi) throw std::invalid_argument("empty index segment");
  if (origin < hi) throw std::invalid_argument("the late bias's origin must not lie below the segment's top");
  const int n = hi - lo + 1;
  std::vector<int> picked;
  if (count <= 0) return picked;
  if (count >= n) {
    for (int i = hi; i >= lo; --i) picked.push_back(i);
    return picked;
  }
  // Candidates in their rollout order (noise side first), one Exp(1) each.
  std::vector<std::pair<double, int>> keys;
  std::exponential_distribution<double> exp1(1.0);
  for (int i = hi; i >= lo; --i) {
    const double weight = std::pow(static_cast<double>(origin - i + 1), gamma);
    keys.emplace_back(weight / exp1(rng), i);
  }
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int k = 0; k < count; ++k) picked.push_back(keys[static_cast<std::size_t>(k)].second);
  std::sort(picked.rbegin(), picked.rend());
  return picked;
}

// ---- First edition -------------------------------------------------------------------

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
