#include "measurements.h"

#include <time.h>

#include <algorithm>
#include <sstream>

#include "bench_run.h"
#include "flowbp/memory.h"
#include "model_bound.h"

namespace flowbp::bench {

namespace {

PhaseTimes phases_of(const StepRecord& r, double plan_seconds) {
  PhaseTimes p;
  p.rollout = r.time_rollout;
  p.plan = plan_seconds;
  p.surrogate_forward = r.time_surrogate_forward;
  p.backward = r.time_backward;
  p.optimizer = r.time_optimizer;
  p.total = r.time_step;
  p.other = std::max(0.0, p.total - p.rollout - p.plan - p.surrogate_forward - p.backward - p.optimizer);
  return p;
}

std::string describe_params(const SettingValues& values) {
  std::ostringstream out;
  for (const auto& [name, value] : values.all()) out << (out.tellp() > 0 ? ", " : "") << name << "=" << format_value(value);
  return out.str();
}

}  // namespace

void measure_time(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m) {
  BenchRun run(registry, settings, m.name, settings.steps);
  m.display_name = run.method().info().display_name;
  m.params = describe_params(run.experiment().method_params);
  ModelBound bound(ToyConfig::from(run.experiment().backbone.settings), settings.batch, settings.seed + 1);
  for (int it = 0; it < settings.warmup + settings.iters; ++it) {
    const double cpu0 = process_cpu_seconds();
    const StepRecord record = run.step();
    const double cpu1 = process_cpu_seconds();
    IterationSample sample;
    sample.harness_cpu = cpu1 - cpu0;
    sample.harness = phases_of(record, run.method().last_plan_seconds());
    sample.active_forwards = active_forward_count(run.method().last_plan());
    const double cpu2 = process_cpu_seconds();
    const BoundTiming b = bound.time(run.schedule(), sample.active_forwards);
    sample.bound_cpu = process_cpu_seconds() - cpu2;
    sample.bound_nograd = b.forward_nograd;
    sample.bound_forward_backward = b.forward_backward;
    m.jacobian_depth = record.jacobian_depth;
    if (it >= settings.warmup) m.samples.push_back(sample);
  }
}

void measure_memory(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m) {
  memory::install_counting_allocator();
  for (int steps : settings.memory_steps) {
    BenchRun run(registry, settings, m.name, steps);
    run.step();  // the first backward allocates the .grad buffers: not the surrogate's memory
    MemoryPoint point{steps, 0};
    for (int it = 0; it < settings.memory_iters; ++it)
      point.peak_autograd_bytes = std::max(point.peak_autograd_bytes, run.step().peak_autograd_bytes);
    m.memory.push_back(point);
  }
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

PhaseTimes median_phases(const std::vector<IterationSample>& samples) {
  const auto med = [&](double PhaseTimes::*field) {
    std::vector<double> v;
    for (const auto& s : samples) v.push_back(s.harness.*field);
    return median_of(v);
  };
  PhaseTimes p;
  p.rollout = med(&PhaseTimes::rollout);
  p.plan = med(&PhaseTimes::plan);
  p.surrogate_forward = med(&PhaseTimes::surrogate_forward);
  p.backward = med(&PhaseTimes::backward);
  p.optimizer = med(&PhaseTimes::optimizer);
  p.other = med(&PhaseTimes::other);
  p.total = med(&PhaseTimes::total);
  return p;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median_harness_cpu(const std::vector<IterationSample>& samples) {
  std::vector<double> v;
  for (const auto& s : samples) v.push_back(s.harness_cpu);
  return median_of(v);
}

double median_bound_cpu(const std::vector<IterationSample>& samples) {
  std::vector<double> v;
  for (const auto& s : samples) v.push_back(s.bound_cpu);
  return median_of(v);
}

double median_bound(const std::vector<IterationSample>& samples) {
  std::vector<double> v;
  for (const auto& s : samples) v.push_back(s.bound_total());
  return median_of(v);
}

}  // namespace flowbp::bench
