// The clock the ratios use. On the CPU: process CPU time (a busy neighbour stretches
// wall time, not the work done). On a GPU the host's CPU time says nothing about the
// kernels: wall time after synchronizing the device.
#pragma once
#include <c10/core/Device.h>

#include <string>

namespace flowbp::bench {

class BenchClock {
 public:
  explicit BenchClock(const c10::Device& device) : device_(device) {}
  double now() const;  // seconds
  std::string name() const;  // "process CPU time" or "wall time, GPU synchronized"
  bool gpu() const { return device_.is_cuda(); }

 private:
  c10::Device device_;
};

// Process CPU seconds (CLOCK_PROCESS_CPUTIME_ID).
double process_cpu_seconds();

}  // namespace flowbp::bench
