#include <ATen/ATen.h>

#include <cmath>

#include "flowbp/image_metrics.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;

namespace {

FeatureStats stats_of(const at::Tensor& mean, const at::Tensor& cov) {
  FeatureStats s;
  s.mean = mean.to(at::kDouble);
  s.cov = cov.to(at::kDouble);
  s.count = 1000;
  return s;
}

}  // namespace

TEST_CASE("Fréchet distance of Gaussians in closed form") {
  SUBCASE("identical") {
    at::Tensor a = at::randn({6, 6}, at::kDouble);
    FeatureStats s = stats_of(at::randn({6}, at::kDouble), a.matmul(a.t()) + at::eye(6, at::kDouble));
    CHECK(frechet_distance(s, s) == doctest::Approx(0.0).scale(1).epsilon(1e-9));
  }
  SUBCASE("diagonal covariances: |mu1 - mu2|^2 + sum (sqrt a_i - sqrt b_i)^2") {
    at::Tensor va = at::tensor({1.0, 4.0, 0.25, 9.0}, at::kDouble), vb = at::tensor({2.0, 1.0, 0.25, 16.0}, at::kDouble);
    at::Tensor ma = at::tensor({0.0, 1.0, 2.0, -1.0}, at::kDouble), mb = at::tensor({1.0, 1.0, 0.0, 0.5}, at::kDouble);
    const double expected = (ma - mb).pow(2).sum().item<double>() + (va.sqrt() - vb.sqrt()).pow(2).sum().item<double>();
    CHECK(frechet_distance(stats_of(ma, at::diag(va)), stats_of(mb, at::diag(vb))) ==
          doctest::Approx(expected).epsilon(1e-12));
  }
  SUBCASE("non-commuting 2x2 covariances: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M))") {
    at::Tensor s1 = at::tensor({2.0, 0.6, 0.6, 1.0}, at::kDouble).reshape({2, 2});
    at::Tensor s2 = at::tensor({1.0, -0.3, -0.3, 3.0}, at::kDouble).reshape({2, 2});
    at::Tensor m = s1.matmul(s2);
    const double tr = m.trace().item<double>(), det = at::det(m).item<double>();
    const double tr_root = std::sqrt(tr + 2 * std::sqrt(det));
    at::Tensor mu1 = at::tensor({0.5, -1.0}, at::kDouble), mu2 = at::tensor({0.0, 0.0}, at::kDouble);
    const double expected = 1.25 + s1.trace().item<double>() + s2.trace().item<double>() - 2 * tr_root;
    CHECK(frechet_distance(stats_of(mu1, s1), stats_of(mu2, s2)) == doctest::Approx(expected).epsilon(1e-12));
    CHECK(frechet_distance(stats_of(mu2, s2), stats_of(mu1, s1)) == doctest::Approx(expected).epsilon(1e-12));
  }
  SUBCASE("rank-deficient covariances stay finite and non-negative") {
    at::Tensor a = at::randn({8, 2}, at::kDouble);
    FeatureStats s = stats_of(at::zeros({8}, at::kDouble), a.matmul(a.t()));
    FeatureStats z = stats_of(at::zeros({8}, at::kDouble), at::zeros({8, 8}, at::kDouble));
    const double fd = frechet_distance(s, z);
    CHECK(std::isfinite(fd));
    CHECK(fd == doctest::Approx(s.cov.trace().item<double>()).epsilon(1e-9));
    CHECK(frechet_distance(s, s) == doctest::Approx(0.0).scale(1).epsilon(1e-6));
  }
  FeatureStats a = stats_of(at::zeros({3}), at::eye(3)), b = stats_of(at::zeros({4}), at::eye(4));
  CHECK_THROWS_AS(frechet_distance(a, b), std::invalid_argument);
}

TEST_CASE("sample statistics and the PSD square root") {
  at::Tensor f = at::randn({500, 5}, at::kDouble) * 2 + 1;
  FeatureStats s = feature_stats(f.to(at::kFloat));
  CHECK(s.count == 500);
  CHECK((s.mean.scalar_type() == at::kDouble));
  at::Tensor c = f.to(at::kFloat).to(at::kDouble) - s.mean;
  CHECK(at::allclose(s.cov, c.t().matmul(c) / 499.0, 1e-12, 1e-12));
  at::Tensor root = sqrtm_psd(s.cov);
  CHECK(at::allclose(root.matmul(root), s.cov, 1e-9, 1e-9));
  CHECK(at::allclose(root, root.t()));
  CHECK_THROWS_AS(feature_stats(at::zeros({1, 3})), std::invalid_argument);
}

TEST_CASE("mean pairwise distance and class diversity") {
  // An equilateral triangle of side 2 and a square of side 1 (diagonals √2).
  at::Tensor tri = at::tensor({0.0, 0.0, 2.0, 0.0, 1.0, std::sqrt(3.0)}, at::kDouble).reshape({3, 2});
  at::Tensor sq = at::tensor({0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0}, at::kDouble).reshape({4, 2}) + 10;
  CHECK(mean_pairwise_distance(tri) == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(mean_pairwise_distance(sq) == doctest::Approx((4 + 2 * std::sqrt(2.0)) / 6).epsilon(1e-12));
  CHECK(mean_pairwise_distance(tri.narrow(0, 0, 1)) == 0.0);
  at::Tensor both = at::cat({tri, sq, at::ones({1, 2}, at::kDouble)});
  at::Tensor labels = at::tensor({2, 2, 2, 5, 5, 5, 5, 7}, at::kLong);  // class 7 has one row: not counted
  CHECK(class_diversity(both, labels) == doctest::Approx((2.0 + (4 + 2 * std::sqrt(2.0)) / 6) / 2).epsilon(1e-12));
}
