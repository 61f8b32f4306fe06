// Wall-clock durations for phase timings, progress lines and reports.
#pragma once
#include <chrono>

namespace flowbp {

using Clock = std::chrono::steady_clock;

// Seconds since `start`.
inline double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace flowbp
