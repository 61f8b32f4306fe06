// Summary statistics over seeds: mean, sample standard deviation and the 95%
// Student-t confidence interval the paper's tables report.
#pragma once
#include <cstddef>
#include <vector>

namespace flowbp::analysis {

// Quantile of Student's t distribution with `dof` degrees of freedom (dof > 0, 0 < p < 1).
double student_t_quantile(double p, double dof);

// Its CDF, exposed so tests can check the inverse against it.
double student_t_cdf(double t, double dof);

struct Summary {
  std::size_t n = 0;
  double mean = 0;
  double stddev = 0;        // sample (n-1) standard deviation; NaN when n < 2
  double ci95_half = 0;     // t_{0.975, n-1} * stddev / sqrt(n); NaN when n < 2 (no interval)
};

// NaN values take part (a NaN metric makes the mean NaN): a silently dropped seed
// would bias the table.
Summary summarize(const std::vector<double>& values);

// A 95% confidence interval on a difference of means (a variant minus its baseline).
struct Difference {
  enum class Kind { None, Paired, Welch } kind = Kind::None;
  double mean = 0;       // mean(a) - mean(b)
  double ci95_half = 0;  // NaN for Kind::None (fewer than two values on a side)
  double dof = 0;        // degrees of freedom of the t quantile; NaN when the spread is zero
};

// Paired t: a[i] and b[i] come from the same seed; the interval is the one-sample t
// interval of the n differences (n - 1 degrees of freedom). Needs a.size() == b.size() >= 2.
Difference paired_difference(const std::vector<double>& a, const std::vector<double>& b);

// Welch t: independent samples with unequal variances, Welch-Satterthwaite degrees of
// freedom. Needs two values on each side.
Difference welch_difference(const std::vector<double>& a, const std::vector<double>& b);

const char* to_string(Difference::Kind kind);  // "none", "paired", "welch"

}  // namespace flowbp::analysis
