// What the benchmark measures for one method: trainer iterations split by phase
// with the model-only bound interleaved (so background load hits both alike),
// and peak autograd bytes at several N for fixed K.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bench_settings.h"
#include "flowbp/registry.h"

namespace flowbp::bench {

// Seconds of one training iteration, phase by phase (flowbp::train_step's own timers,
// plus the plan call timed by TimedMethod; `other` is the rest of the step).
struct PhaseTimes {
  double rollout = 0, plan = 0, surrogate_forward = 0, backward = 0, optimizer = 0, other = 0, total = 0;
};

// Wall-clock phases come from the step's own timers; the CPU-time totals (process
// CPU seconds, all threads) are what the ratios use, because on a shared machine a
// neighbour's load stretches wall time but not the work done.
struct IterationSample {
  PhaseTimes harness;
  double harness_cpu = 0;
  double bound_nograd = 0, bound_forward_backward = 0;  // wall
  double bound_cpu = 0;
  int active_forwards = 0;
  double bound_total() const { return bound_nograd + bound_forward_backward; }
};

struct MemoryPoint {
  int steps = 0;
  std::int64_t peak_autograd_bytes = 0;  // max over the measured steps
};

struct MethodMeasurement {
  std::string name;
  std::string display_name;
  std::string params;  // the resolved settings, "K=6, late_bias_gamma=1, …"
  int jacobian_depth = 0;
  std::vector<IterationSample> samples;
  std::vector<MemoryPoint> memory;
};

// Timed iterations (after warm-up) at settings.steps.
void measure_time(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m);
// Peak autograd bytes at each of settings.memory_steps (needs the counting allocator).
void measure_memory(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m);

// Medians over the samples, phase by phase (robust to a noisy neighbour).
PhaseTimes median_phases(const std::vector<IterationSample>& samples);
double median_bound(const std::vector<IterationSample>& samples);  // wall
double median_harness_cpu(const std::vector<IterationSample>& samples);
double median_bound_cpu(const std::vector<IterationSample>& samples);
// Process CPU seconds (CLOCK_PROCESS_CPUTIME_ID).
double process_cpu_seconds();
double median_of(std::vector<double> values);

}  // namespace flowbp::bench
