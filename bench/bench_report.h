// The benchmark's results, its goals (PASS/MISS, printed, never asserted) and
// their two forms: the text report and the --json document.
#pragma once
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench_settings.h"
#include "flowbp/blas_kernel.h"
#include "json.h"
#include "measurements.h"
#include "python_reference.h"
#include "subnormal_gemm.h"

namespace flowbp::bench {

struct BenchResults {
  BenchSettings settings;
  std::string libtorch_version;
  std::string model;         // "toy velocity MLP, width 512 x 3 hidden layers" or the experiment's backbone
  std::string device = "cpu";
  std::string clock;         // BenchClock::name()
  bool blas_pinned = false;  // OpenBLAS limited to settings.threads
  BlasInfo blas;
  CpuFeatures cpu;
  std::string coretype;      // OPENBLAS_CORETYPE as this process saw it ("" unset)
  bool flush_denormal = false;  // flush-to-zero on in this process (measured)
  std::optional<SubnormalTiming> subnormal;
  std::vector<MethodMeasurement> methods;
  std::optional<PythonResult> python;
  std::string python_note;  // why there is no Python column ("--no-python", an error)
};

struct Goal {
  std::string goal;    // "time: harness / own bound"
  std::string method;
  double value = 0;
  std::string target;  // human-readable target
  bool pass = false;
};

// Thresholds of the performance issues.
constexpr double kBoundRatioGoal = 1.05;  // every method against the bound of its own plan
// Against the classic bound (N no-grad + |A| forwards and backwards): what reusing the
// rollout's forwards must save.
const std::map<std::string, double>& classic_bound_goals();
constexpr double kPythonRatioGoal = 0.80;
constexpr double kFlatMemoryTolerance = 0.05;
constexpr double kLinearMemoryTolerance = 0.15;
constexpr double kSubnormalGoal = 1.05;  // subnormal / normal GEMM with flush-to-zero on

// full-bp is the reference the surrogates are measured against, not a surrogate.
bool is_surrogate(const std::string& method);

std::vector<Goal> evaluate_goals(const BenchResults& results);
void print_report(std::ostream& out, const BenchResults& results, const std::vector<Goal>& goals);
Json report_json(const BenchResults& results, const std::vector<Goal>& goals);

// Per-method derived figures, shared by the text and the JSON.
double harness_over_bound(const MethodMeasurement& m);          // step / its own (reuse) bound
double harness_over_classic_bound(const MethodMeasurement& m);  // step / classic bound
double classic_over_classic_bound(const MethodMeasurement& m);  // classic engine's step / classic bound (0: not timed)
std::optional<double> cpp_over_python(const BenchResults& results, const MethodMeasurement& m);
std::optional<double> memory_ratio(const MethodMeasurement& m);  // peak(last N) / peak(first N)
double samples_per_second(const MethodMeasurement& m);          // batch / median wall step
std::optional<double> over_full_bp(const BenchResults& results, const MethodMeasurement& m);  // clock time ratio

// "BLAS: OpenBLAS 0.3.21, kernel Haswell"
std::string blas_line(const BlasInfo& blas);

}  // namespace flowbp::bench
