#include "stats.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace flowbp::analysis {

namespace {

// Continued fraction of the regularized incomplete beta function (modified Lentz).
double beta_continued_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < 1e-15) break;
  }
  return h;
}

double regularized_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  // The continued fraction converges fast only on one side of the mean.
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

}  // namespace

double student_t_cdf(double t, double dof) {
  const double x = dof / (dof + t * t);
  const double tail = 0.5 * regularized_incomplete_beta(dof / 2.0, 0.5, x);
  return t >= 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double dof) {
  if (!(p > 0 && p < 1) || !(dof > 0)) throw std::invalid_argument("student_t_quantile: need 0<p<1 and dof>0");
  if (p == 0.5) return 0;
  // Bisection on the monotone CDF: slow-ish but exact to double precision, and
  // the report evaluates it a handful of times.
  double lo = -1.0, hi = 1.0;
  while (student_t_cdf(lo, dof) > p) lo *= 2;
  while (student_t_cdf(hi, dof) < p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-14 * std::fmax(1.0, std::fabs(hi)); ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, dof) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Summary summarize(const std::vector<double>& values) {
  Summary s;
  s.n = values.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (s.n == 0) return {0, nan, nan, nan};
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) {
    s.stddev = s.ci95_half = nan;
    return s;
  }
  double ss = 0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(ss / static_cast<double>(s.n - 1));
  s.ci95_half = student_t_quantile(0.975, static_cast<double>(s.n - 1)) * s.stddev / std::sqrt(static_cast<double>(s.n));
  return s;
}

namespace {
double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}
// Sample variance (n - 1).
double variance_of(const std::vector<double>& v, double mean) {
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size() - 1);
}
}  // namespace

Difference paired_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("paired_difference: samples of different sizes");
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  Difference out;
  out.mean = d.empty() ? std::numeric_limits<double>::quiet_NaN() : mean_of(d);
  if (d.size() < 2) {
    out.ci95_half = out.dof = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  out.kind = Difference::Kind::Paired;
  const Summary s = summarize(d);
  out.dof = static_cast<double>(d.size() - 1);
  out.ci95_half = s.ci95_half;
  return out;
}

Difference welch_difference(const std::vector<double>& a, const std::vector<double>& b) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Difference out;
  out.mean = a.empty() || b.empty() ? nan : mean_of(a) - mean_of(b);
  if (a.size() < 2 || b.size() < 2) {
    out.ci95_half = out.dof = nan;
    return out;
  }
  out.kind = Difference::Kind::Welch;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double va = variance_of(a, mean_of(a)) / na, vb = variance_of(b, mean_of(b)) / nb;
  const double se2 = va + vb;
  if (std::isnan(se2)) {  // a NaN value: no interval, as summarize() gives none
    out.ci95_half = out.dof = nan;
    return out;
  }
  if (se2 == 0) {  // both sides constant: the difference is exact
    out.ci95_half = 0;
    out.dof = nan;
    return out;
  }
  out.dof = se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1));
  out.ci95_half = student_t_quantile(0.975, out.dof) * std::sqrt(se2);
  return out;
}

const char* to_string(Difference::Kind kind) {
  switch (kind) {
    case Difference::Kind::None: return "none";
    case Difference::Kind::Paired: return "paired";
    case Difference::Kind::Welch: return "welch";
  }
  return "?";
}

}  // namespace flowbp::analysis
