#include "flowbp/time_shift.h"

#include <cmath>
#include <stdexcept>

namespace flowbp {

double flux_dynamic_mu(std::int64_t seq_len, std::int64_t base_seq_len, std::int64_t max_seq_len, double base_shift,
                       double max_shift) {
  if (base_seq_len == max_seq_len)
    throw std::invalid_argument("flux_dynamic_mu: base_seq_len and max_seq_len must differ");
  const double m = (max_shift - base_shift) / static_cast<double>(max_seq_len - base_seq_len);
  const double b = base_shift - m * static_cast<double>(base_seq_len);
  return static_cast<double>(seq_len) * m + b;
}

double flux2_empirical_mu(std::int64_t seq_len, int steps) {
  const double a1 = 8.73809524e-05, b1 = 1.89833333;
  const double a2 = 0.00016927, b2 = 0.45666666;
  const double L = static_cast<double>(seq_len);
  if (seq_len > 4300) return a2 * L + b2;
  const double m_200 = a2 * L + b2;
  const double m_10 = a1 * L + b1;
  const double a = (m_200 - m_10) / 190.0;
  const double b = m_200 - 200.0 * a;
  return a * static_cast<double>(steps) + b;
}

double exponential_time_shift(double mu, double t) {
  if (t <= 0) return 0.0;
  if (t >= 1) return 1.0;
  const double e = std::exp(mu);
  return e / (e + (1.0 / t - 1.0));
}

double TimeShift::mu(int steps) const {
  if (mode == "dynamic") return flux_dynamic_mu(image_seq_len, base_seq_len, max_seq_len, base_shift, max_shift);
  if (mode == "empirical") return flux2_empirical_mu(image_seq_len, steps);
  throw std::logic_error("TimeShift::mu: the static shift has no mu");
}

double TimeShift::shift_for(int steps) const { return is_static() ? shift : std::exp(mu(steps)); }

}  // namespace flowbp
