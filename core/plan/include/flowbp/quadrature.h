// Integration weights for leaps and reconstructions, in double precision.
#pragma once
#include <vector>

#include "flowbp/schedule.h"

namespace flowbp {

// Evenly spread supports from `from` down to `to_inclusive`, both ends included,
// de-duplicated: a_p = from − round(p·(from − to)/(P − 1)), p = 0..P−1.
std::vector<int> spread_supports(int from, int to_inclusive, int count);

// w_p = ∫_{lo}^{hi} L_p(t) dt for the Lagrange basis on nodes (Eq. 15–16).
std::vector<double> lagrange_weights(const std::vector<double>& nodes, double lo, double hi);

// Equal coefficients over the same supports (Fig. 4 control), summing to hi − lo.
std::vector<double> uniform_weights(std::size_t count, double lo, double hi);

// Euler weights Δ_i for i = from..to+1 (rollout order).
std::vector<double> euler_weights(const Schedule& schedule, int from, int to);

}  // namespace flowbp
