#include "measurements.h"

#include <algorithm>
#include <memory>
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

double median_field(const std::vector<IterationSample>& samples, double IterationSample::*field) {
  std::vector<double> v;
  for (const auto& s : samples) v.push_back(s.*field);
  return median_of(v);
}

}  // namespace

void measure_time(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m,
                  const std::shared_ptr<const LoadedModels>& models) {
  BenchRun run(registry, settings, m.name, settings.steps, /*reuse_rollout=*/true, models);
  // The same training from the same seed on the classic engine: same gradients, so both
  // runs stay in step, and each iteration is timed side by side.
  std::unique_ptr<BenchRun> classic;
  if (settings.classic)
    classic = std::make_unique<BenchRun>(registry, settings, m.name, settings.steps, /*reuse_rollout=*/false, models);
  m.display_name = run.method().info().display_name;
  m.params = describe_params(run.experiment().method_params);
  m.batch = run.experiment().train.batch;
  const BenchClock clock(run.compute().device);
  ModelBound bound(*run.state().model, run.latents(), m.batch, run.conditions(), run.compute(), settings.seed + 1);
  for (int it = 0; it < settings.warmup + settings.iters; ++it) {
    IterationSample sample;
    const double c0 = clock.now();
    const StepRecord record = run.step();
    sample.harness_cpu = clock.now() - c0;
    sample.harness = phases_of(record, run.method().last_plan_seconds());
    sample.active_forwards = record.active_forwards;
    sample.reused_forwards = record.reused_forwards;
    sample.rollout_grad_forwards = record.rollout_grad_forwards;
    if (classic) {
      const double c1 = clock.now();
      const StepRecord classic_record = classic->step();
      sample.classic_cpu = clock.now() - c1;
      sample.classic_wall = classic_record.time_step;
    }
    BoundWork work;
    work.nograd_reuse = run.schedule().steps() - record.rollout_grad_forwards;
    work.grad_classic = record.active_forwards;
    work.grad_reuse = record.rollout_grad_forwards + record.active_forwards - record.reused_forwards;
    const BoundTiming b = bound.time(run.schedule(), work, clock);
    sample.bound_nograd = b.forward_nograd;
    sample.bound_forward_backward = b.forward_backward;
    sample.bound_classic_cpu = b.classic;
    sample.bound_cpu = b.reuse;
    m.jacobian_depth = record.jacobian_depth;
    if (it >= settings.warmup) m.samples.push_back(sample);
  }
}

void measure_memory(const Registry& registry, const BenchSettings& settings, MethodMeasurement& m,
                    const std::shared_ptr<const LoadedModels>& models) {
  memory::install_counting_allocator();
  for (int steps : settings.memory_steps) {
    BenchRun run(registry, settings, m.name, steps, /*reuse_rollout=*/true, models);
    run.step();  // the first backward allocates the .grad buffers: not the surrogate's memory
    MemoryPoint point{steps, 0, 0};
    for (int it = 0; it < settings.memory_iters; ++it) {
      const StepRecord r = run.step();
      point.peak_autograd_bytes = std::max(point.peak_autograd_bytes, r.peak_autograd_bytes);
      point.rollout_cache_bytes = r.rollout_cache_bytes;
    }
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

double median_harness_cpu(const std::vector<IterationSample>& s) { return median_field(s, &IterationSample::harness_cpu); }
double median_bound_cpu(const std::vector<IterationSample>& s) { return median_field(s, &IterationSample::bound_cpu); }
double median_bound_classic_cpu(const std::vector<IterationSample>& s) {
  return median_field(s, &IterationSample::bound_classic_cpu);
}
double median_classic_cpu(const std::vector<IterationSample>& s) { return median_field(s, &IterationSample::classic_cpu); }

double median_bound(const std::vector<IterationSample>& samples) {
  std::vector<double> v;
  for (const auto& s : samples) v.push_back(s.bound_total());
  return median_of(v);
}

}  // namespace flowbp::bench
