#include "bench_clock.h"

#include <time.h>

#include <chrono>

#include "flowbp/compute.h"

namespace flowbp::bench {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double BenchClock::now() const {
  if (!gpu()) return process_cpu_seconds();
  synchronize(device_);
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string BenchClock::name() const { return gpu() ? "wall time, GPU synchronized" : "process CPU time"; }

}  // namespace flowbp::bench
