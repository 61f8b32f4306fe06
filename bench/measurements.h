// What the benchmark measures for one method: trainer iterations split by phase with
// the model-only bounds interleaved (so background load hits both alike), the same
// step on the classic engine side by side, and peak autograd bytes at several N for
// fixed K.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_clock.h"
#include "bench_settings.h"
#include "flowbp/registry.h"

namespace flowbp::bench {

// Seconds of one training iteration, phase by phase (flowbp::train_step's own timers,
// plus the plan call timed by TimedMethod; `other` is the rest of the step).
struct PhaseTimes {
  double rollout = 0, plan = 0, surrogate_forward = 0, backward = 0, optimizer = 0, other = 0, total = 0;
};

// Wall-clock phases come from the step's own timers; the clock totals (BenchClock:
// process CPU seconds on the CPU) are what the ratios use.
struct IterationSample {
  PhaseTimes harness;                                    // the step (rollout reuse), wall
  double harness_cpu = 0;                                // its clock time
  double classic_cpu = 0, classic_wall = 0;              // the classic engine's step (0 when not timed)
  double bound_nograd = 0, bound_forward_backward = 0;   // the classic bound's parts, wall
  double bound_classic_cpu = 0;  // N no-grad forwards + |A| forwards and backwards
  double bound_cpu = 0;          // what the reuse plan must do: (N − R) no-grad + G with gradient + backward
  int active_forwards = 0;        // |A|: active terms (velocities with gradient)
  int reused_forwards = 0;        // of those, taken from the rollout
  int rollout_grad_forwards = 0;  // R: rollout steps run with gradient
  double bound_total() const { return bound_nograd + bound_forward_backward; }
};

struct MemoryPoint {
  int steps = 0;
  std::int64_t peak_autograd_bytes = 0;  // max over the measured steps
  std::int64_t rollout_cache_bytes = 0;  // the rollout's latents, not in the peak
};

struct MethodMeasurement {
  std::string name;
  std::string display_name;
  std::string params;  // the resolved settings, "K=6, late_bias_gamma=1, …"
  int jacobian_depth = 0;
  std::int64_t batch = 0;
  std::vector<IterationSample> samples;
  std::vector<MemoryPoint> memory;
};

// Timed iterations (after warm-up) at settings.steps. `models` is required with an
// experiment file (load_models) and unused for the toy.
struct LoadedModels;
void measure_time(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m,
                  const std::shared_ptr<const LoadedModels>& models);
// Peak autograd bytes at each of settings.memory_steps (needs the counting allocator on the CPU).
void measure_memory(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m,
                    const std::shared_ptr<const LoadedModels>& models);

// Medians over the samples (robust to a noisy neighbour).
PhaseTimes median_phases(const std::vector<IterationSample>& samples);
double median_bound(const std::vector<IterationSample>& samples);  // wall
double median_harness_cpu(const std::vector<IterationSample>& samples);
double median_bound_cpu(const std::vector<IterationSample>& samples);
double median_bound_classic_cpu(const std::vector<IterationSample>& samples);
double median_classic_cpu(const std::vector<IterationSample>& samples);
double median_of(std::vector<double> values);

}  // namespace flowbp::bench
