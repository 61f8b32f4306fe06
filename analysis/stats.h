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

}  // namespace flowbp::analysis
