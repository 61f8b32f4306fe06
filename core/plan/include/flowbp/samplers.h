// Index samplers of METHODS.md §4 (docs/METHODS.md). All take the index-selection RNG
// stream. The second edition's samplers follow the authors' functions
// (RuoyuWang-2077/FlowBP, common/jk_sampling.py and the late-biased sampler of their
// FlowBP-Sparse/Bridge trainers); the first edition's stay, named *_v1 below.
#pragma once
#include <random>
#include <vector>

#include "flowbp/schedule.h"

namespace flowbp {

struct LeapIndices {
  int j = 0;  // N ≥ j > s ≥ 1
  int s = 0;
};

// Python's round() and torch.round: to the nearest integer, ties to the even one.
long round_half_even(double x);

// ---- Second edition: the authors' leap samplers --------------------------------------

// The index window a leap is drawn from: rollout indices i in [lo, hi) (hi exclusive,
// the authors' min_idx/max_idx after their train-step tail window).
struct LeapWindow {
  int lo = 1;
  int hi = 2;
};

// The top index of the trainable tail: W = min(N, max(min(min_window, N), ⌈ratio·N⌉)).
int tail_top(int steps, double tail_ratio, int min_window);
// lo = max(i_min, 1), hi = min(i_max, W + 1) with i_max = −1 meaning N + 1 and W =
// tail_top(steps, tail_ratio, 3); throws std::invalid_argument unless hi − lo ≥ 3.
LeapWindow leap_window(int steps, int i_min, int i_max, double tail_ratio);

enum class LeapSampler { Dirichlet, Uniform, Midpoint, MidpointJ };

// The deterministic part of the Dirichlet sampler, from float32 proportions p (their
// normalised gammas): ℓ = round_half_even(p·L) with L = hi − lo (float32 product), the
// remainder L − Σℓ added to the component of the largest p, every ℓ_k clamped to ≥ 1 and
// any new remainder added to the largest ℓ_k; a cap s_max ≥ 0 bounds ℓ_1 by
// max(1, s_max − lo), moving the overflow to ℓ_3. Then s = lo + ℓ_1, j = s + ℓ_2.
struct DirichletLayout {
  int lengths[3] = {0, 0, 0};
  bool truncated = false;  // the cap moved length from ℓ_1 to ℓ_3
  LeapIndices leap;
};
DirichletLayout dirichlet_layout(const float props[3], const LeapWindow& window, int s_max);

// p ~ Dir(alpha) drawn on a generator seeded with one value of `rng` (so the sampler uses
// exactly one value of the stream, as theirs does), then dirichlet_layout.
LeapIndices sample_dirichlet_pair(const LeapWindow& window, const double alpha[3], int s_max, std::mt19937_64& rng);
// No cap: an unordered pair of distinct indices uniform in [lo, hi), s the smaller. With a
// cap s_max ≥ 0: s ~ U{lo..min(s_max, hi − 2)}, then j ~ U{s+1..hi−1} (not uniform over pairs).
LeapIndices sample_uniform_pair(const LeapWindow& window, int s_max, std::mt19937_64& rng);
// j ~ U{lo+1..hi−1}, s = midpoint_pair(steps, j).s.
LeapIndices sample_midpoint_pair(int steps, const LeapWindow& window, std::mt19937_64& rng);
// s ~ U{lo..hi−2}, j = midpoint_j_pair(steps, s).j.
LeapIndices sample_midpoint_j_pair(int steps, const LeapWindow& window, std::mt19937_64& rng);
// Their _midpoint_sample given the noise-side index j: s = ⌈j/2⌉ (the midpoint of [0, j]).
LeapIndices midpoint_pair(int steps, int j);
// Their _midpoint_j_sample given the clean-side index s: j = N − ⌊(N − s)/2⌋.
LeapIndices midpoint_j_pair(int steps, int s);
LeapIndices sample_leap_pair(LeapSampler sampler, int steps, const LeapWindow& window, const double alpha[3],
                             int s_max, std::mt19937_64& rng);
// Every pair the sampler can return (each with positive probability): for checks made
// before a run starts.
std::vector<LeapIndices> reachable_pairs(LeapSampler sampler, int steps, const LeapWindow& window, int s_max);

// Late bias counted in steps: `count` distinct indices from [lo, hi] with weight
// (origin − i + 1)^γ (origin = the segment's first candidate on the noise side, or N),
// sorted descending; the whole range, without a draw, when count ≥ its size. Drawn as
// torch.multinomial without replacement does (one Exp(1) per candidate, the top `count`
// of weight/Exp), which is the sequential weighted draw in distribution.
std::vector<int> sample_late_biased_steps(int lo, int hi, int origin, int count, double gamma,
                                          std::mt19937_64& rng);

// ---- First edition (kept for the spec-v1 preset and earlier logs) ---------------------

struct DirichletSettings {
  double alpha[3] = {1.0, 1.0, 1.0};
  int r_min = 0;
  int r_max = -1;   // −1: N − 1
  int l1_max = -1;  // −1: no cap on ℓ_1
};

// Integer segment lengths (ℓ_1, ℓ_2, ℓ_3) summing to L from proportions p
// (floor, then largest remainder), ℓ_2 ≥ 1 forced, optional ℓ_1 cap moving overflow to ℓ_3.
std::vector<int> split_lengths(const double p[3], int total, int l1_max);

// First edition: lengths laid out from the noise end over reverse indices r = N − i in
// [r_min, r_max] (r_j = r_min + ℓ_1, r_s = r_j + ℓ_2).
LeapIndices sample_dirichlet_leap(int steps, const DirichletSettings& settings, std::mt19937_64& rng);
// First edition: two distinct reverse indices uniform in [r_min, r_max], sorted.
LeapIndices sample_uniform_leap(int steps, int r_min, int r_max, std::mt19937_64& rng);
// First edition, deterministic: j at r_min, s halfway through the valid range.
LeapIndices midpoint_leap(int steps, int r_min, int r_max);

// First edition: K distinct indices from [lo, hi] with p(i) ∝ (1 − t_i + 1/N)^γ (time-based,
// global origin); sorted descending.
std::vector<int> sample_late_biased(const Schedule& schedule, int lo, int hi, int count, double gamma,
                                    std::mt19937_64& rng);

int uniform_int(std::mt19937_64& rng, int lo, int hi);  // inclusive

}  // namespace flowbp
