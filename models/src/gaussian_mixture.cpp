#include "flowbp/gaussian_mixture.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace flowbp {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Fisher–Yates with our own index draw, so the mode layout is the same with any
// standard library.
void seeded_shuffle(std::vector<std::vector<double>>& points, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = points.size(); i > 1; --i) std::swap(points[i - 1], points[rng() % i]);
}

}  // namespace

GaussianMixture GaussianMixture::make(int dim, int classes, int modes_per_class, double mode_std, std::uint64_t seed) {
  GaussianMixture g;
  g.dim = dim;
  g.classes = classes;
  g.modes_per_class = modes_per_class;
  g.mode_std = mode_std;
  // Eight standard deviations between neighbours: samples are unambiguous.
  g.spacing = std::max(1.2, 8.0 * g.mode_std);
  const int count = g.classes * g.modes_per_class;
  const int axes = std::min(g.dim, 3);
  // A lattice with about 1.5x the points needed, so the shuffle has a choice.
  int side = 1;
  while (std::pow(side, axes) < 1.5 * count) ++side;
  std::vector<std::vector<double>> points;
  std::vector<int> digit(axes, 0);
  const int total = static_cast<int>(std::lround(std::pow(side, axes)));
  for (int k = 0; k < total; ++k) {
    std::vector<double> p(g.dim, 0.0);
    for (int a = 0, rest = k; a < axes; ++a, rest /= side) p[a] = (rest % side - (side - 1) / 2.0) * g.spacing;
    points.push_back(std::move(p));
  }
  seeded_shuffle(points, seed);
  std::vector<float> flat;
  for (int m = 0; m < count; ++m)
    for (double v : points[m]) flat.push_back(static_cast<float>(v));
  g.means = at::tensor(flat, at::kFloat).reshape({g.classes, g.modes_per_class, g.dim});
  return g;
}

at::Tensor GaussianMixture::sample(const at::Tensor& cond, at::Generator& gen) const {
  const int64_t b = cond.size(0);
  at::Tensor which = at::randint(modes_per_class, {b}, gen, at::kLong);
  at::Tensor centre = means.index({cond, which});
  return centre + at::randn({b, dim}, gen, at::kFloat) * mode_std;
}

at::Tensor GaussianMixture::log_density(const at::Tensor& x, const at::Tensor& cond) const {
  at::Tensor mu = means.index({cond}).to(at::kDouble);            // [B, M, d]
  at::Tensor diff = x.to(at::kDouble).unsqueeze(1) - mu;          // [B, M, d]
  const double var = mode_std * mode_std;
  at::Tensor log_comp = diff.pow(2).sum(-1) * (-0.5 / var) - 0.5 * dim * std::log(2 * kPi * var);
  return at::logsumexp(log_comp, 1) - std::log(static_cast<double>(modes_per_class));
}

}  // namespace flowbp
