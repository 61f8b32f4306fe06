// Sample-quality metrics in a feature space, computed in double on the CPU whatever
// the features' device and dtype: Fréchet distance (FID's formula) and diversity.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace flowbp {

struct FeatureStats {
  at::Tensor mean;  // float64 [d]
  at::Tensor cov;   // float64 [d, d], unbiased (divides by n − 1, as numpy.cov)
  std::int64_t count = 0;
};

// Statistics of features [n, d] (n ≥ 2).
FeatureStats feature_stats(const at::Tensor& features);

// The symmetric square root of a symmetric positive semi-definite matrix: V·diag(√λ)·Vᵀ
// from its eigen-decomposition, eigenvalues below zero (round-off) taken as zero.
at::Tensor sqrtm_psd(const at::Tensor& a);

// ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}), with Tr((Σ₁Σ₂)^{1/2}) computed as
// Σ √λ_i of the symmetric PSD matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2} (the same eigenvalues):
// no non-symmetric square root, no complex round-off. Clamped at 0.
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

// Mean Euclidean distance over the n(n−1)/2 distinct pairs of rows of [n, d]; 0 if n < 2.
double mean_pairwise_distance(const at::Tensor& features);

// mean_pairwise_distance within each class (rows whose label is that class), averaged
// over the classes holding at least two rows.
double class_diversity(const at::Tensor& features, const at::Tensor& labels);

}  // namespace flowbp
