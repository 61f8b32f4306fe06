#include "flowbp/schedule.h"

#include <stdexcept>
#include <string>

namespace flowbp {

Schedule Schedule::make(int steps, double shift) {
  if (steps < 1) throw std::invalid_argument("schedule needs at least 1 step, got " + std::to_string(steps));
  if (!(shift > 0)) throw std::invalid_argument("schedule shift must be > 0");
  Schedule s;
  s.t.resize(static_cast<std::size_t>(steps) + 1);
  for (int i = 0; i <= steps; ++i) {
    double u = static_cast<double>(i) / steps;
    s.t[i] = shift == 1.0 ? u : shift * u / (1.0 + (shift - 1.0) * u);
  }
  s.t[0] = 0.0;
  s.t[steps] = 1.0;
  return s;
}

}  // namespace flowbp
