// Index samplers of METHODS.md §4. All take the index-selection RNG stream.
#pragma once
#include <random>
#include <vector>

#include "flowbp/schedule.h"

namespace flowbp {

struct LeapIndices {
  int j = 0;  // N ≥ j > s ≥ 1
  int s = 0;
};

struct DirichletSettings {
  double alpha[3] = {1.0, 1.0, 1.0};
  int r_min = 0;
  int r_max = -1;   // −1: N − 1
  int l1_max = -1;  // −1: no cap on ℓ_1
};

// Integer segment lengths (ℓ_1, ℓ_2, ℓ_3) summing to L from proportions p
// (floor, then largest remainder), ℓ_2 ≥ 1 forced, optional ℓ_1 cap moving overflow to ℓ_3.
std::vector<int> split_lengths(const double p[3], int total, int l1_max);

LeapIndices sample_dirichlet_leap(int steps, const DirichletSettings& settings, std::mt19937_64& rng);
// LeapAlign's original: two distinct reverse indices uniform in [r_min, r_max], sorted.
LeapIndices sample_uniform_leap(int steps, int r_min, int r_max, std::mt19937_64& rng);
// Deterministic: j at r_min, s halfway through the valid range.
LeapIndices midpoint_leap(int steps, int r_min, int r_max);

// K distinct indices from [lo, hi] with p(i) ∝ (1 − t_i + 1/N)^γ; sorted descending.
std::vector<int> sample_late_biased(const Schedule& schedule, int lo, int hi, int count, double gamma,
                                    std::mt19937_64& rng);

int uniform_int(std::mt19937_64& rng, int lo, int hi);  // inclusive

}  // namespace flowbp
