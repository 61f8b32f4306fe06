#include "bench_report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace flowbp::bench {

namespace {

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string ms(double seconds) { return fmt("%.2f", seconds * 1e3); }

std::string mib(std::int64_t bytes) { return fmt("%.2f", static_cast<double>(bytes) / (1024.0 * 1024.0)); }

// The first `text_columns` cells left-aligned (names), the rest right-aligned (numbers).
void row(std::ostream& out, const std::vector<std::string>& cells, const std::vector<int>& widths,
         std::size_t text_columns = 1) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const int w = i < widths.size() ? widths[i] : 10;
    const std::string& c = cells[i];
    const std::string pad(c.size() < static_cast<std::size_t>(w) ? static_cast<std::size_t>(w) - c.size() : 0, ' ');
    line += (i ? " " : "") + (i < text_columns ? c + pad : pad + c);
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out << line << '\n';
}

const std::vector<IterationSample>& samples_or_empty(const MethodMeasurement& m) { return m.samples; }

int median_active(const MethodMeasurement& m) {
  std::vector<double> a;
  for (const auto& s : samples_or_empty(m)) a.push_back(s.active_forwards);
  return static_cast<int>(std::lround(median_of(a)));
}

int median_reused(const MethodMeasurement& m) {
  std::vector<double> a;
  for (const auto& s : samples_or_empty(m)) a.push_back(s.reused_forwards);
  return static_cast<int>(std::lround(median_of(a)));
}

Json phases_json(const PhaseTimes& p) {
  Json o = Json::object();
  o.set("rollout", p.rollout);
  o.set("plan", p.plan);
  o.set("surrogate_forward", p.surrogate_forward);
  o.set("backward", p.backward);
  o.set("optimizer", p.optimizer);
  o.set("other", p.other);
  o.set("total", p.total);
  return o;
}

std::optional<double> python_cpu_median(const BenchResults& results, const std::string& method) {
  if (!results.python) return std::nullopt;
  auto it = results.python->cpu.find(method);
  if (it == results.python->cpu.end() || it->second.empty()) return std::nullopt;
  return median_of(it->second);
}

std::optional<PhaseTimes> python_median(const BenchResults& results, const std::string& method) {
  if (!results.python) return std::nullopt;
  auto it = results.python->iterations.find(method);
  if (it == results.python->iterations.end() || it->second.empty()) return std::nullopt;
  std::vector<IterationSample> s;
  for (const auto& p : it->second) {
    IterationSample sample;
    sample.harness = p;
    s.push_back(sample);
  }
  return median_phases(s);
}

}  // namespace

bool is_surrogate(const std::string& method) { return method != "full-bp"; }

const std::map<std::string, double>& classic_bound_goals() {
  static const std::map<std::string, double> goals = {
      {"flowbp-sparse", 0.90}, {"flowbp-bridge", 0.90}, {"drtune", 0.92}};
  return goals;
}

std::string blas_line(const BlasInfo& blas) { return "BLAS: " + blas.line(); }

double harness_over_bound(const MethodMeasurement& m) {
  const double bound = median_bound_cpu(m.samples);
  return bound > 0 ? median_harness_cpu(m.samples) / bound : 0.0;
}

double harness_over_classic_bound(const MethodMeasurement& m) {
  const double bound = median_bound_classic_cpu(m.samples);
  return bound > 0 ? median_harness_cpu(m.samples) / bound : 0.0;
}

double classic_over_classic_bound(const MethodMeasurement& m) {
  const double bound = median_bound_classic_cpu(m.samples);
  return bound > 0 ? median_classic_cpu(m.samples) / bound : 0.0;
}

std::optional<double> cpp_over_python(const BenchResults& results, const MethodMeasurement& m) {
  const auto py = python_cpu_median(results, m.name);
  if (!py || *py <= 0) return std::nullopt;
  return median_harness_cpu(m.samples) / *py;
}

std::optional<double> memory_ratio(const MethodMeasurement& m) {
  if (m.memory.size() < 2 || m.memory.front().peak_autograd_bytes <= 0) return std::nullopt;
  return static_cast<double>(m.memory.back().peak_autograd_bytes) /
         static_cast<double>(m.memory.front().peak_autograd_bytes);
}

double samples_per_second(const MethodMeasurement& m) {
  const double wall = median_phases(m.samples).total;
  return wall > 0 ? static_cast<double>(m.batch) / wall : 0.0;
}

std::optional<double> over_full_bp(const BenchResults& results, const MethodMeasurement& m) {
  for (const auto& other : results.methods)
    if (other.name == "full-bp" && !other.samples.empty() && median_harness_cpu(other.samples) > 0)
      return median_harness_cpu(m.samples) / median_harness_cpu(other.samples);
  return std::nullopt;
}

std::vector<Goal> evaluate_goals(const BenchResults& results) {
  std::vector<Goal> goals;
  for (const auto& m : results.methods) {
    if (m.samples.empty()) continue;
    const double r = harness_over_bound(m);
    goals.push_back({"time: harness / own bound", m.name, r, fmt("<= %.2f", kBoundRatioGoal), r <= kBoundRatioGoal});
  }
  for (const auto& m : results.methods) {
    const auto goal = classic_bound_goals().find(m.name);
    if (m.samples.empty() || goal == classic_bound_goals().end()) continue;
    const double r = harness_over_classic_bound(m);
    goals.push_back({"time: harness / classic bound", m.name, r, fmt("<= %.2f", goal->second), r <= goal->second});
  }
  for (const auto& m : results.methods) {
    const auto r = cpp_over_python(results, m);
    if (!r) continue;
    goals.push_back({"time: C++ / Python reference", m.name, *r, fmt("<= %.2f", kPythonRatioGoal),
                     *r <= kPythonRatioGoal});
  }
  for (const auto& m : results.methods) {
    const auto r = memory_ratio(m);
    if (!r) continue;
    const int n0 = m.memory.front().steps, n1 = m.memory.back().steps;
    const std::string what = "memory: peak(N=" + std::to_string(n1) + ") / peak(N=" + std::to_string(n0) + ")";
    if (is_surrogate(m.name)) {
      goals.push_back({what, m.name, *r, fmt("1 +- %.2f (flat)", kFlatMemoryTolerance),
                       std::abs(*r - 1.0) <= kFlatMemoryTolerance});
    } else {
      const double linear = static_cast<double>(n1) / n0;
      goals.push_back({what, m.name, *r, fmt("%.2f", linear) + fmt(" +- %.0f%% (linear)", kLinearMemoryTolerance * 100),
                       std::abs(*r / linear - 1.0) <= kLinearMemoryTolerance});
    }
  }
  if (results.subnormal) {
    const double r = results.subnormal->ratio_on();
    goals.push_back({"time: subnormal / normal GEMM, FTZ on", "-", r, fmt("<= %.2f", kSubnormalGoal),
                     r <= kSubnormalGoal});
  }
  return goals;
}

void print_report(std::ostream& out, const BenchResults& results, const std::vector<Goal>& goals) {
  const BenchSettings& s = results.settings;
  out << "flowbp bench: " << results.model << ", batch " << (s.methods.empty() || results.methods.empty()
                                                                  ? s.batch
                                                                  : results.methods.front().batch)
      << ", N = " << s.steps << ", device " << results.device << ", " << s.threads << " torch thread(s)"
      << (results.blas_pinned ? " (OpenBLAS pinned to the same)" : "") << "\n"
      << "  " << s.iters << " timed iterations after " << s.warmup
      << " warm-up per method; medians; ratios on " << results.clock << "; LibTorch " << results.libtorch_version;
  if (results.python) out << ", Python reference on torch " << results.python->torch_version;
  out << "\n" << blas_line(results.blas) << "\n"
      << "  CPU " << to_string(results.cpu) << "; OPENBLAS_CORETYPE "
      << (results.coretype.empty() ? "unset" : results.coretype) << "; flush-to-zero "
      << (results.flush_denormal ? "on" : "OFF");
  if (results.python && results.python->flush_denormal) out << " (and in the Python reference)";
  out << "; " << results.blas.path << "\n\n";

  out << "Time per training iteration [ms] (flowbp::train_step, the trainer's own step, reusing the rollout's\n"
         "forwards; medians)\n";
  const std::vector<int> w = {16, 4, 3, 8, 6, 9, 8, 9, 6, 8, 8, 9, 8};
  row(out, {"method", "|A|", "R", "rollout", "plan", "surrogate", "backward", "optimizer", "other", "wall", "cpu",
            "bound cpu", "h/bound"}, w);
  for (const auto& m : results.methods) {
    if (m.samples.empty()) continue;
    const PhaseTimes p = median_phases(m.samples);
    row(out, {m.name, std::to_string(median_active(m)), std::to_string(median_reused(m)), ms(p.rollout), ms(p.plan),
              ms(p.surrogate_forward), ms(p.backward), ms(p.optimizer), ms(p.other), ms(p.total),
              ms(median_harness_cpu(m.samples)), ms(median_bound_cpu(m.samples)), fmt("%.3f", harness_over_bound(m))},
        w);
  }
  out << "  phases and wall: wall clock; cpu and bound cpu: " << results.clock
      << ", which the ratios use. |A| = active terms (velocities\n"
         "  with gradient); R = of those, the rollout's own forwards run with gradient and reused; bound = what the\n"
         "  plan must do: N - R no-grad forwards + |A| forwards with gradient and one backward of the same model and\n"
         "  batch, timed raw right after each iteration; h/bound = cpu / bound cpu.\n\n";

  out << "Against the classic engine (N no-grad forwards, then every active term re-forwarded) [ms]\n";
  const std::vector<int> cw = {16, 9, 11, 10, 9, 11, 10};
  row(out, {"method", "cpu", "classic cpu", "c-bound", "h/c-bound", "classic/c-b", "h/classic"}, cw);
  for (const auto& m : results.methods) {
    if (m.samples.empty()) continue;
    const double classic = median_classic_cpu(m.samples);
    row(out, {m.name, ms(median_harness_cpu(m.samples)), classic > 0 ? ms(classic) : "-",
              ms(median_bound_classic_cpu(m.samples)), fmt("%.3f", harness_over_classic_bound(m)),
              classic > 0 ? fmt("%.3f", classic_over_classic_bound(m)) : "-",
              classic > 0 ? fmt("%.3f", median_harness_cpu(m.samples) / classic) : "-"},
        cw);
  }
  out << "  c-bound = N no-grad forwards + |A| forwards and backwards (the bound before reuse); h/c-bound = cpu /\n"
         "  c-bound; classic/c-b = the classic engine's step, timed side by side, / c-bound; h/classic = cpu /\n"
         "  classic cpu. Same seeds, same gradients.\n\n";

  out << "Throughput\n";
  const std::vector<int> tw = {16, 9, 10, 12};
  row(out, {"method", "wall", "samples/s", "cpu/full-bp"}, tw);
  for (const auto& m : results.methods) {
    if (m.samples.empty()) continue;
    const auto vs = over_full_bp(results, m);
    row(out, {m.name, ms(median_phases(m.samples).total), fmt("%.1f", samples_per_second(m)),
              vs ? fmt("%.3f", *vs) : "-"},
        tw);
  }
  out << "  samples/s = batch / median wall step; cpu/full-bp = this method's step / full-bp's step (" << results.clock
      << ")\n\n";

  if (results.subnormal) {
    const SubnormalTiming& t = *results.subnormal;
    out << "Subnormal gradients: 256x512 @ 512x512 GEMM with 1% subnormal rows vs normal rows [ms per GEMM]\n";
    const std::vector<int> sw = {16, 9, 10, 8};
    row(out, {"flush-to-zero", "normal", "subnormal", "ratio"}, sw);
    row(out, {"off", fmt("%.3f", t.normal_off * 1e3), fmt("%.3f", t.subnormal_off * 1e3), fmt("%.3f", t.ratio_off())},
        sw);
    row(out, {"on", fmt("%.3f", t.normal_on * 1e3), fmt("%.3f", t.subnormal_on * 1e3), fmt("%.3f", t.ratio_on())},
        sw);
    out << "  process CPU time, medians; with it on the subnormal rows come out " << (t.flushed_on ? "zero" : "NOT zero")
        << " (the trainer and the bench run with it on)\n\n";
  }

  if (results.python || !results.python_note.empty()) {
    out << "C++ harness vs the PyTorch reference (bench/reference.py) [ms per iteration]\n";
    if (!results.python) {
      out << "  not run: " << results.python_note << "\n\n";
    } else {
      const std::vector<int> pw = {16, 9, 9, 8, 9, 9, 9, 9, 9, 9, 9};
      row(out, {"method", "C++ cpu", "Py cpu", "C++/Py", "bound/Py", "C++ wall", "Py wall", "py:roll", "py:surr",
                "py:back", "py:optim"}, pw);
      for (const auto& m : results.methods) {
        const auto py = python_median(results, m.name);
        if (!py) continue;
        row(out, {m.name, ms(median_harness_cpu(m.samples)), ms(python_cpu_median(results, m.name).value_or(0)),
                  fmt("%.3f", cpp_over_python(results, m).value_or(0)),
                  fmt("%.3f", median_bound_cpu(m.samples) / python_cpu_median(results, m.name).value_or(1)),
                  ms(median_phases(m.samples).total),
                  ms(py->total), ms(py->rollout), ms(py->surrogate_forward), ms(py->backward), ms(py->optimizer)},
            pw);
      }
      out << "  C++/Py = C++ cpu / Py cpu (medians); bound/Py = the model-only bound's CPU time / Py cpu: the\n"
             "  lowest C++/Py any harness doing the same model work can reach; py:* = the reference's wall phases\n\n";
    }
  }

  bool any_memory = false;
  for (const auto& m : results.methods) any_memory = any_memory || !m.memory.empty();
  if (any_memory) {
    out << "Peak autograd memory [MiB] (" << (results.device == "cpu" ? "counting allocator" : "CUDA allocator")
        << ", from before the rollout through backward, less the rollout's latents), K fixed\n";
    std::vector<std::string> head = {"method"};
    std::vector<int> mw = {16};
    for (int n : s.memory_steps) {
      head.push_back("N=" + std::to_string(n));
      mw.push_back(10);
    }
    head.push_back("last/first");
    mw.push_back(11);
    head.push_back("latents@last");
    mw.push_back(13);
    row(out, head, mw);
    for (const auto& m : results.methods) {
      if (m.memory.empty()) continue;
      std::vector<std::string> cells = {m.name};
      for (const auto& p : m.memory) cells.push_back(mib(p.peak_autograd_bytes));
      const auto r = memory_ratio(m);
      cells.push_back(r ? fmt("%.3f", *r) : "-");
      cells.push_back(mib(m.memory.back().rollout_cache_bytes));
      row(out, cells, mw);
    }
    out << "  latents@last: the rollout's x_0..x_{N-1} and v_1..v_N at the last N (2N latents, linear by design)\n\n";
  }

  out << "Goals (printed, not asserted)\n";
  const std::vector<int> gw = {38, 16, 7, 22, 6};
  row(out, {"goal", "method", "value", "target", "result"}, gw, 2);
  int missed = 0;
  for (const auto& g : goals) {
    row(out, {g.goal, g.method, fmt("%.3f", g.value), g.target, g.pass ? "PASS" : "MISS"}, gw, 2);
    missed += g.pass ? 0 : 1;
  }
  out << "  " << goals.size() - static_cast<std::size_t>(missed) << " of " << goals.size() << " goals met";
  if (missed) out << "; docs/BENCH.md explains the misses with the profile behind them";
  out << '\n';
}

Json report_json(const BenchResults& results, const std::vector<Goal>& goals) {
  const BenchSettings& s = results.settings;
  Json doc = Json::object();
  Json settings = Json::object();
  settings.set("width", s.width);
  settings.set("depth", s.depth);
  settings.set("batch", s.batch);
  settings.set("steps", s.steps);
  settings.set("K", s.K);
  settings.set("iters", s.iters);
  settings.set("warmup", s.warmup);
  settings.set("threads", s.threads);
  settings.set("memory_steps", Json::array_of(s.memory_steps));
  settings.set("python", s.python);
  settings.set("classic", s.classic);
  settings.set("experiment", s.experiment);
  doc.set("settings", settings);
  doc.set("model", results.model);
  doc.set("device", results.device);
  doc.set("clock", results.clock);
  doc.set("libtorch_version", results.libtorch_version);
  doc.set("blas_threads_pinned", results.blas_pinned);
  Json blas = Json::object();
  blas.set("line", blas_line(results.blas));
  blas.set("library", results.blas.library);
  blas.set("version", results.blas.version);
  blas.set("kernel", results.blas.kernel);
  blas.set("path", results.blas.path);
  blas.set("cpu", to_string(results.cpu));
  blas.set("openblas_coretype", results.coretype);
  doc.set("blas", blas);
  doc.set("flush_denormal", results.flush_denormal);
  if (results.python) doc.set("python_flush_denormal", results.python->flush_denormal);
  if (results.subnormal) {
    const SubnormalTiming& t = *results.subnormal;
    Json sub = Json::object();
    sub.set("normal_off", t.normal_off);
    sub.set("subnormal_off", t.subnormal_off);
    sub.set("normal_on", t.normal_on);
    sub.set("subnormal_on", t.subnormal_on);
    sub.set("ratio_off", t.ratio_off());
    sub.set("ratio_on", t.ratio_on());
    sub.set("flushed_on", t.flushed_on);
    doc.set("subnormal_gemm", sub);
  }
  if (results.python) doc.set("python_torch_version", results.python->torch_version);
  if (!results.python_note.empty()) doc.set("python_note", results.python_note);

  Json methods = Json::array();
  for (const auto& m : results.methods) {
    Json o = Json::object();
    o.set("name", m.name);
    o.set("display_name", m.display_name);
    o.set("params", m.params);
    o.set("surrogate", is_surrogate(m.name));
    o.set("jacobian_depth", m.jacobian_depth);
    o.set("active_forwards", median_active(m));
    o.set("reused_forwards", median_reused(m));
    o.set("batch", static_cast<long long>(m.batch));
    Json iterations = Json::array();
    for (const auto& sample : m.samples) {
      Json it = phases_json(sample.harness);
      it.set("bound_nograd", sample.bound_nograd);
      it.set("bound_forward_backward", sample.bound_forward_backward);
      it.set("active_forwards", sample.active_forwards);
      it.set("reused_forwards", sample.reused_forwards);
      it.set("rollout_grad_forwards", sample.rollout_grad_forwards);
      it.set("cpu", sample.harness_cpu);
      it.set("bound_cpu", sample.bound_cpu);
      it.set("bound_classic_cpu", sample.bound_classic_cpu);
      it.set("classic_cpu", sample.classic_cpu);
      iterations.push_back(it);
    }
    o.set("iterations", iterations);
    o.set("phases", phases_json(median_phases(m.samples)));
    Json bound = Json::object();
    std::vector<double> nograd, fb;
    for (const auto& sample : m.samples) {
      nograd.push_back(sample.bound_nograd);
      fb.push_back(sample.bound_forward_backward);
    }
    bound.set("forward_nograd", median_of(nograd));
    bound.set("forward_backward", median_of(fb));
    bound.set("total", median_bound(m.samples));
    bound.set("cpu", median_bound_cpu(m.samples));
    bound.set("classic_cpu", median_bound_classic_cpu(m.samples));
    o.set("bound", bound);
    o.set("cpu", median_harness_cpu(m.samples));
    o.set("harness_over_bound", harness_over_bound(m));
    o.set("harness_over_classic_bound", harness_over_classic_bound(m));
    if (median_classic_cpu(m.samples) > 0) {
      o.set("classic_cpu", median_classic_cpu(m.samples));
      o.set("classic_over_classic_bound", classic_over_classic_bound(m));
    }
    o.set("samples_per_second", samples_per_second(m));
    if (const auto vs = over_full_bp(results, m)) o.set("over_full_bp", *vs);
    if (const auto py = python_median(results, m.name)) {
      o.set("python_phases", phases_json(*py));
      o.set("python_cpu", python_cpu_median(results, m.name).value_or(0));
      o.set("cpp_over_python", cpp_over_python(results, m).value_or(0));
      o.set("bound_over_python", median_bound_cpu(m.samples) / python_cpu_median(results, m.name).value_or(1));
    }
    Json memory = Json::array();
    for (const auto& p : m.memory) {
      Json point = Json::object();
      point.set("steps", p.steps);
      point.set("peak_autograd_bytes", static_cast<long long>(p.peak_autograd_bytes));
      point.set("rollout_cache_bytes", static_cast<long long>(p.rollout_cache_bytes));
      memory.push_back(point);
    }
    o.set("memory", memory);
    if (const auto r = memory_ratio(m)) o.set("memory_ratio", *r);
    methods.push_back(o);
  }
  doc.set("methods", methods);

  Json goal_list = Json::array();
  for (const auto& g : goals) {
    Json o = Json::object();
    o.set("goal", g.goal);
    o.set("method", g.method);
    o.set("value", g.value);
    o.set("target", g.target);
    o.set("pass", g.pass);
    goal_list.push_back(o);
  }
  doc.set("goals", goal_list);
  return doc;
}

}  // namespace flowbp::bench
