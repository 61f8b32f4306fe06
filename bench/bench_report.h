// The benchmark's results, its goals (PASS/MISS, printed, never asserted) and
// their two forms: the text report and the --json document.
#pragma once
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench_settings.h"
#include "json.h"
#include "measurements.h"
#include "python_reference.h"

namespace flowbp::bench {

struct BenchResults {
  BenchSettings settings;
  std::string libtorch_version;
  bool blas_pinned = false;  // OpenBLAS limited to settings.threads
  std::vector<MethodMeasurement> methods;
  std::optional<PythonResult> python;
  std::string python_note;  // why there is no Python column ("--no-python", an error)
};

struct Goal {
  std::string goal;    // "harness/bound <= 1.10"
  std::string method;
  double value = 0;
  std::string target;  // human-readable target
  bool pass = false;
};

// Thresholds of HARNESS "Performance" as the brief sets them.
constexpr double kBoundRatioGoal = 1.10;
constexpr double kPythonRatioGoal = 0.80;
constexpr double kFlatMemoryTolerance = 0.05;
constexpr double kLinearMemoryTolerance = 0.15;

// full-bp is the reference the surrogates are measured against, not a surrogate.
bool is_surrogate(const std::string& method);

std::vector<Goal> evaluate_goals(const BenchResults& results);
void print_report(std::ostream& out, const BenchResults& results, const std::vector<Goal>& goals);
Json report_json(const BenchResults& results, const std::vector<Goal>& goals);

// Per-method derived figures, shared by the text and the JSON.
double harness_over_bound(const MethodMeasurement& m);
std::optional<double> cpp_over_python(const BenchResults& results, const MethodMeasurement& m);
std::optional<double> memory_ratio(const MethodMeasurement& m);  // peak(last N) / peak(first N)

}  // namespace flowbp::bench
