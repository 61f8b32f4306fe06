// Writes two Gaussian feature sets (and labels) with known parameters, and what the
// C++ metrics make of them, for check_metrics.py to recompute with numpy/scipy.
// Output (text): "n d", then the rows of A, the rows of B, the labels of A, then
// "fid <v>", "diversity <v>", "pairwise <v>".
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>

#include "flowbp/image_metrics.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: metrics_dump OUT\n");
    return 2;
  }
  const std::int64_t n = 400, d = 12;
  at::Generator gen = at::detail::createCPUGenerator(123);
  at::Tensor mix_a = at::randn({d, d}, gen, at::kDouble) * 0.4 + at::eye(d, at::kDouble);
  at::Tensor mix_b = at::randn({d, d}, gen, at::kDouble) * 0.7;
  at::Tensor a = at::randn({n, d}, gen, at::kDouble).matmul(mix_a) + 0.5;
  at::Tensor b = at::randn({n, d}, gen, at::kDouble).matmul(mix_b) - at::linspace(-1, 1, d, at::kDouble);
  at::Tensor labels = at::randint(5, {n}, gen, at::kLong);
  const double fid = flowbp::frechet_distance(flowbp::feature_stats(a), flowbp::feature_stats(b));
  const double diversity = flowbp::class_diversity(a, labels);
  const double pairwise = flowbp::mean_pairwise_distance(b);
  std::FILE* f = std::fopen(argv[1], "w");
  if (!f) return 1;
  std::fprintf(f, "%lld %lld\n", static_cast<long long>(n), static_cast<long long>(d));
  for (const at::Tensor& m : {a, b}) {
    auto acc = m.accessor<double, 2>();
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < d; ++j) std::fprintf(f, "%.17g ", acc[i][j]);
      std::fprintf(f, "\n");
    }
  }
  auto l = labels.accessor<std::int64_t, 1>();
  for (std::int64_t i = 0; i < n; ++i) std::fprintf(f, "%lld ", static_cast<long long>(l[i]));
  std::fprintf(f, "\nfid %.17g\ndiversity %.17g\npairwise %.17g\n", fid, diversity, pairwise);
  return std::fclose(f) == 0 ? 0 : 1;
}
