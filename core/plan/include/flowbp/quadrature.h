// Integration weights for leaps and reconstructions, in double precision.
#pragma once
#include <vector>

#include "flowbp/schedule.h"

namespace flowbp {

// The authors' support rule (their _select_interval_support_indices): from `from` down to
// `to_inclusive`, every index when there are at most P, else positions
// round_half_even(linspace(0, L − 1, P)) with torch's float32 linspace, the first forced to
// `from`, de-duplicated: a_p = from − round_half_even(p·(from − to)/(P − 1)). Anchor first.
std::vector<int> interval_supports(int from, int to_inclusive, int count);

// The first edition's: the same spread with ties rounded away from zero.
std::vector<int> spread_supports(int from, int to_inclusive, int count);

// w_p = ∫_{lo}^{hi} L_p(t) dt for the Lagrange basis on nodes (Eq. 15–16).
std::vector<double> lagrange_weights(const std::vector<double>& nodes, double lo, double hi);

// Equal coefficients over the same supports (Fig. 4 control), summing to hi − lo.
std::vector<double> uniform_weights(std::size_t count, double lo, double hi);

// Euler weights Δ_i for i = from..to+1 (rollout order).
std::vector<double> euler_weights(const Schedule& schedule, int from, int to);

}  // namespace flowbp
