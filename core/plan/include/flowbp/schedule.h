// Time grid of the Euler sampler: t_N = 1 (noise) > … > t_0 = 0 (data).
#pragma once
#include <vector>

namespace flowbp {

struct Schedule {
  std::vector<double> t;  // size N+1, t[i] is the time of rollout index i

  // Uniform t_i = i/N, then the SD3-style warp t' = s t / (1 + (s-1) t) when shift != 1.
  static Schedule make(int steps, double shift = 1.0);
  int steps() const { return static_cast<int>(t.size()) - 1; }
  // Δ_i = t_i − t_{i−1}: the Euler weight of velocity i.
  double dt(int i) const { return t[i] - t[i - 1]; }
};

}  // namespace flowbp
