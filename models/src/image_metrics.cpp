#include "flowbp/image_metrics.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

namespace flowbp {

FeatureStats feature_stats(const at::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2)
    throw std::invalid_argument("feature_stats: need features [n, d] with n >= 2");
  at::Tensor f = features.detach().to(at::kCPU, at::kDouble);
  FeatureStats s;
  s.count = f.size(0);
  s.mean = f.mean(0);
  at::Tensor centred = f - s.mean;
  s.cov = at::matmul(centred.t(), centred) / static_cast<double>(s.count - 1);
  return s;
}

at::Tensor sqrtm_psd(const at::Tensor& a) {
  at::Tensor sym = a.to(at::kDouble);
  sym = (sym + sym.t()) * 0.5;
  auto [values, vectors] = at::linalg_eigh(sym);
  return at::matmul(vectors * values.clamp_min(0).sqrt().unsqueeze(0), vectors.t());
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  if (a.mean.numel() != b.mean.numel())
    throw std::invalid_argument("frechet_distance: feature dimensions differ (" + std::to_string(a.mean.numel()) +
                                " vs " + std::to_string(b.mean.numel()) + ")");
  at::Tensor root_a = sqrtm_psd(a.cov);
  at::Tensor m = at::matmul(at::matmul(root_a, b.cov.to(at::kDouble)), root_a);
  m = (m + m.t()) * 0.5;
  const double tr_root = at::linalg_eigvalsh(m).clamp_min(0).sqrt().sum().item<double>();
  const double mean_term = (a.mean - b.mean).pow(2).sum().item<double>();
  const double fd = mean_term + a.cov.trace().item<double>() + b.cov.trace().item<double>() - 2 * tr_root;
  return fd > 0 ? fd : 0.0;
}

double mean_pairwise_distance(const at::Tensor& features) {
  const std::int64_t n = features.size(0);
  if (n < 2) return 0.0;
  at::Tensor f = features.detach().to(at::kCPU, at::kDouble);
  at::Tensor d = at::cdist(f, f, 2.0, /*compute_mode: never the matmul shortcut*/ 2);
  // The diagonal is zero: the sum over all ordered pairs counts each distinct pair twice.
  return d.sum().item<double>() / static_cast<double>(n * (n - 1));
}

double class_diversity(const at::Tensor& features, const at::Tensor& labels) {
  at::Tensor f = features.detach().to(at::kCPU, at::kDouble);
  at::Tensor l = labels.to(at::kCPU, at::kLong);
  at::Tensor classes = std::get<0>(at::_unique(l));
  double sum = 0;
  int counted = 0;
  for (std::int64_t i = 0; i < classes.size(0); ++i) {
    at::Tensor rows = f.index_select(0, at::nonzero(l.eq(classes[i])).squeeze(1));
    if (rows.size(0) < 2) continue;
    sum += mean_pairwise_distance(rows);
    ++counted;
  }
  return counted > 0 ? sum / counted : 0.0;
}

}  // namespace flowbp
