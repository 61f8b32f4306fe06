// What one `flowbp bench` invocation measures, as the command line gives it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowbp::bench {

struct BenchSettings {
  std::vector<std::string> methods;  // empty: every loaded method
  // An experiment file: its backbone and reward kinds (any registered kind, loaded as
  // `flowbp train` loads them) instead of the toy MLP below; no Python reference then.
  std::string experiment;
  std::vector<std::string> sets;     // KEY=VALUE overrides of the experiment (--set)
  std::string device;                // train.device; "" keeps the experiment's
  int width = 512;                   // hidden width of the toy velocity MLP
  int depth = 3;                     // its hidden layers
  int batch = 256;
  int steps = 25;                    // N of the timed iterations
  int K = 0;                         // method.K for methods that declare it (not full-bp); 0 = method default
  int iters = 5;                     // timed iterations per method (after warm-up)
  int warmup = 1;
  int threads = 1;
  std::vector<int> memory_steps = {25, 50, 100};
  int memory_iters = 2;              // peak = max over these, after one warm-up step
  bool classic = true;               // also time the classic engine (no rollout reuse) side by side
  bool subnormal = true;             // the subnormal-GEMM row (CPU only)
  bool python = true;
  std::string python_exe = "/usr/bin/python3";
  std::string reference_script;      // bench/reference.py
  std::vector<std::string> plugin_dirs;
  std::uint64_t seed = 42;
  bool toy() const { return experiment.empty(); }
};

}  // namespace flowbp::bench
