#include "flowbp/quadrature.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "flowbp/samplers.h"

namespace flowbp {

namespace {

// torch.linspace on the CPU in float32: step = (end − start)/(steps − 1), the first half
// counted up from start, the second half down from end.
std::vector<float> linspace_f32(float start, float end, int steps) {
  if (steps == 1) return {start};
  const float step = (end - start) / static_cast<float>(steps - 1);
  const int half = steps / 2;
  std::vector<float> out(static_cast<std::size_t>(steps));
  for (int k = 0; k < steps; ++k)
    out[static_cast<std::size_t>(k)] = k < half ? start + step * static_cast<float>(k)
                                                : end - step * static_cast<float>(steps - 1 - k);
  return out;
}

}  // namespace

std::vector<int> interval_supports(int from, int to_inclusive, int count) {
  if (count < 1) throw std::invalid_argument("support count P must be >= 1");
  if (to_inclusive > from) throw std::invalid_argument("supports run from a larger to a smaller index");
  const int length = from - to_inclusive + 1;
  std::vector<int> out;
  if (length <= count) {
    for (int i = from; i >= to_inclusive; --i) out.push_back(i);
    return out;
  }
  const std::vector<float> positions = linspace_f32(0.0f, static_cast<float>(length - 1), count);
  for (std::size_t p = 0; p < positions.size(); ++p) {
    const int idx = p == 0 ? from : from - static_cast<int>(round_half_even(static_cast<double>(positions[p])));
    if (std::find(out.begin(), out.end(), idx) == out.end()) out.push_back(idx);
  }
  return out;
}

std::vector<int> spread_supports(int from, int to_inclusive, int count) {
  if (count < 1) throw std::invalid_argument("support count P must be >= 1");
  if (to_inclusive > from) throw std::invalid_argument("supports run from a larger to a smaller index");
  std::vector<int> out;
  if (count == 1) return {from};
  for (int p = 0; p < count; ++p) {
    int idx = from - static_cast<int>(std::lround(static_cast<double>(p) * (from - to_inclusive) / (count - 1)));
    if (out.empty() || out.back() != idx) out.push_back(idx);
  }
  return out;
}

namespace {

// Coefficients of Π_{q≠p}(t − n_q)/(n_p − n_q) as a polynomial in t, lowest order first.
std::vector<double> basis_polynomial(const std::vector<double>& nodes, std::size_t p) {
  std::vector<double> coef = {1.0};
  for (std::size_t q = 0; q < nodes.size(); ++q) {
    if (q == p) continue;
    double denom = nodes[p] - nodes[q];
    if (denom == 0) throw std::invalid_argument("Lagrange nodes must be distinct");
    std::vector<double> next(coef.size() + 1, 0.0);
    for (std::size_t k = 0; k < coef.size(); ++k) {
      next[k + 1] += coef[k] / denom;
      next[k] -= coef[k] * nodes[q] / denom;
    }
    coef.swap(next);
  }
  return coef;
}

double integrate(const std::vector<double>& coef, double lo, double hi) {
  double sum = 0;
  for (std::size_t k = 0; k < coef.size(); ++k)
    sum += coef[k] * (std::pow(hi, k + 1) - std::pow(lo, k + 1)) / static_cast<double>(k + 1);
  return sum;
}

}  // namespace

std::vector<double> lagrange_weights(const std::vector<double>& nodes, double lo, double hi) {
  if (nodes.empty()) throw std::invalid_argument("Lagrange rule needs at least one node");
  // Integrated over the leap mapped onto [0, 1]: in t itself the monomial coefficients of a
  // basis over nodes 1/N apart near t = 1 cancel catastrophically (an error growing like
  // N^(P-1), −2e-10 seen at N = 2000), in s = (t − lo)/(hi − lo) they stay of order one.
  const double length = hi - lo;
  if (length <= 0) throw std::invalid_argument("Lagrange rule needs hi > lo");
  std::vector<double> scaled;
  for (double n : nodes) scaled.push_back((n - lo) / length);
  std::vector<double> w(nodes.size());
  for (std::size_t p = 0; p < nodes.size(); ++p) w[p] = length * integrate(basis_polynomial(scaled, p), 0.0, 1.0);
  return w;
}

std::vector<double> uniform_weights(std::size_t count, double lo, double hi) {
  if (count == 0) throw std::invalid_argument("uniform rule needs at least one node");
  return std::vector<double>(count, (hi - lo) / static_cast<double>(count));
}

std::vector<double> euler_weights(const Schedule& schedule, int from, int to) {
  std::vector<double> w;
  for (int i = from; i > to; --i) w.push_back(schedule.dt(i));
  return w;
}

}  // namespace flowbp
