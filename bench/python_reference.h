// The PyTorch reference (bench/reference.py) run side by side: the spec it reads
// (same model, sizes, settings, reward), the subprocess, and its JSON answer.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "bench_settings.h"
#include "flowbp/experiment.h"
#include "flowbp/registry.h"
#include "mode_preference.h"
#include "json.h"
#include "measurements.h"

namespace flowbp::bench {

// $FLOWBP_BENCH_REFERENCE, else reference.py in the source tree, else the installed copy.
std::string default_reference_script();

// The methods reference.py implements.
const std::vector<std::string>& python_methods();

struct PythonResult {
  std::string torch_version;
  bool flush_denormal = false;  // torch.set_flush_denormal(True) took effect there
  std::map<std::string, std::vector<PhaseTimes>> iterations;  // per method, wall clock
  std::map<std::string, std::vector<double>> cpu;              // process CPU seconds per iteration
};

// The model and reward part of a spec: the toy MLP's sizes and the reward's settings and
// preferred modes, so reference.py rebuilds the same network and reward.
Json model_spec(const Experiment& experiment, const ModePreferenceReward& reward);

// The "bench" spec for the given methods (those reference.py implements).
Json python_bench_spec(const Registry& registry, const BenchSettings& settings,
                       const std::vector<std::string>& methods);

// Writes the spec to a temporary file, runs `python_exe script --spec FILE`, parses its
// stdout. Throws std::runtime_error with the interpreter's exit status on failure.
Json run_reference(const std::string& python_exe, const std::string& script, const Json& spec);

PythonResult parse_python_result(const Json& out);

}  // namespace flowbp::bench
