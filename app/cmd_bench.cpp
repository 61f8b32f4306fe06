// `flowbp bench`: the harness's cost measured against the model's own cost, its
// memory against N, and the same iteration in PyTorch (bench/reference.py).
// Exit codes: 0 measured (goals are printed, not enforced), 2 bad usage or
// configuration, 3 a measurement failed.
#include <ATen/Parallel.h>
#include <boost/program_options.hpp>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench_report.h"
#include "bench_run.h"
#include "flowbp/blas_kernel.h"
#include "flowbp/compute.h"
#include "flowbp/compute_threads.h"
#include "command_line.h"
#include "commands.h"
#include "plugin_loading.h"
#include "flowbp/experiment.h"
#include "flowbp/memory.h"
#include "flowbp/text.h"
#include "flowbp/registry.h"
#include "measurements.h"
#include "python_reference.h"
#include "subnormal_gemm.h"

namespace po = boost::program_options;

namespace flowbp::cli {

namespace {

constexpr int kExitDone = 0, kExitUsage = 2, kExitFailed = 3;

const char* kUsage =
    "usage: flowbp bench [options]\n\n"
    "Times the trainer's step for each method, phase by phase, next to the model-only bound of\n"
    "its plan and the classic bound (N no-grad forwards + |A| forwards and backwards of the same\n"
    "model), and the classic engine's step side by side; measures peak autograd memory at several\n"
    "N for fixed K; runs the same iteration written in PyTorch (bench/reference.py) for\n"
    "FlowBP-Sparse, LeapAlign and FlowBP-Lagrange. The model is the toy MLP (--width, --depth,\n"
    "--batch) or, with --experiment, any experiment file's backbone and reward kinds.\n"
    "Goals are printed with PASS/MISS; see docs/BENCH.md.\n\n"
    "example: flowbp bench --methods flowbp-sparse,leapalign --iters 5 --json bench.json\n"
    "         flowbp bench --experiment experiments/dit_scale.toml --device cuda --memory-steps 25,50,100\n";

std::vector<int> parse_steps(const std::string& text) {
  std::vector<int> out;
  for (const auto& item : split_nonempty(text, ',')) {
    std::size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || n < 1)
      throw ConfigError("--memory-steps: '" + item + "' is not a positive step count (e.g. 25,50,100)");
    out.push_back(n);
  }
  return out;
}

void require_positive(const po::variables_map& vm, const char* name, int min_value) {
  if (vm.count(name) && vm[name].as<int>() < min_value)
    throw ConfigError(std::string("--") + name + ": must be at least " + std::to_string(min_value));
}

}  // namespace

int bench(const Args& args) {
  using namespace flowbp::bench;
  BenchSettings s;
  po::options_description visible("options");
  visible.add_options()
      ("help,h", "show this help")
      ("methods", po::value<std::string>(), "comma-separated methods (default: every loaded method)")
      ("experiment", po::value<std::string>(&s.experiment),
       "an experiment file: time its backbone and reward kinds instead of the toy MLP")
      ("set", po::value<std::vector<std::string>>()->composing(), "KEY=VALUE override of the experiment (repeatable)")
      ("device", po::value<std::string>(&s.device), "cpu, cuda or cuda:<i> (train.device)")
      ("width", po::value<int>(&s.width)->default_value(s.width), "hidden width of the velocity MLP")
      ("depth", po::value<int>(&s.depth)->default_value(s.depth), "hidden layers of the velocity MLP")
      ("batch", po::value<int>(&s.batch)->default_value(s.batch),
       "rollouts per iteration (with --experiment: the file's train.batch unless given)")
      ("steps", po::value<int>(&s.steps)->default_value(s.steps), "Euler steps N of the timed iterations")
      ("K", po::value<int>(&s.K)->default_value(s.K),
       "method.K for every method that declares it, except full-bp (0 = each method's default)")
      ("iters", po::value<int>(&s.iters)->default_value(s.iters), "timed iterations per method")
      ("warmup", po::value<int>(&s.warmup)->default_value(s.warmup), "untimed iterations before them")
      ("threads", po::value<int>(&s.threads)->default_value(s.threads), "torch threads (C++ and Python alike)")
      ("memory-steps", po::value<std::string>()->default_value("25,50,100"),
       "N values of the memory rows, at fixed K (empty: skip)")
      ("no-classic", "do not time the classic engine side by side")
      ("no-subnormal", "skip the subnormal-GEMM row")
      ("no-python", "skip the PyTorch reference")
      ("python", po::value<std::string>(&s.python_exe)->default_value(s.python_exe),
       "interpreter with torch for the reference")
      ("reference", po::value<std::string>(), "the reference script (default: bench/reference.py)")
      ("plugin-dir", po::value<std::vector<std::string>>()->composing(),
       "extra directory of method plugins, searched first (repeatable)")
      ("json", po::value<std::string>(), "also write every figure to this JSON file");
  po::variables_map vm;
  try {
    vm = parse_options(args, visible);
  } catch (const UsageError& e) {
    return usage_error("bench", e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << visible;
    return kExitDone;
  }

  Registry registry;
  try {
    for (const auto& [name, min] : std::vector<std::pair<const char*, int>>{
             {"width", 1}, {"depth", 1}, {"batch", 2}, {"steps", 2}, {"K", 0}, {"iters", 1}, {"warmup", 0},
             {"threads", 1}})
      require_positive(vm, name, min);
    s.memory_steps = parse_steps(vm["memory-steps"].as<std::string>());
    s.python = vm.count("no-python") == 0;
    s.classic = vm.count("no-classic") == 0;
    s.subnormal = vm.count("no-subnormal") == 0;
    if (vm.count("set")) s.sets = vm["set"].as<std::vector<std::string>>();
    if (!s.toy()) {
      if (!vm["width"].defaulted() || !vm["depth"].defaulted())
        throw ConfigError("--width/--depth size the toy MLP; with --experiment use --set backbone.<key>=...");
      if (vm["batch"].defaulted()) s.batch = 0;  // the experiment's own
    } else if (!s.sets.empty()) {
      throw ConfigError("--set: needs --experiment (the toy bench is sized by --width, --depth and --batch)");
    }
    s.reference_script = vm.count("reference") ? vm["reference"].as<std::string>() : default_reference_script();
    if (vm.count("plugin-dir")) s.plugin_dirs = vm["plugin-dir"].as<std::vector<std::string>>();
    load_method_plugins(registry, s.plugin_dirs, "bench");
    s.methods = vm.count("methods") ? split_nonempty(vm["methods"].as<std::string>(), ',') : registry.names();
    if (s.methods.empty()) throw ConfigError("--methods: no method given");
    // Every method and size is checked before the first measurement.
    resolve_device(bench_experiment(registry, s, s.methods.front(), s.steps).train.device, 0);
    for (const auto& name : s.methods) {
      bench_experiment(registry, s, name, s.steps);
      for (int n : s.memory_steps) bench_experiment(registry, s, name, n);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flowbp bench: %s\n", e.what());
    return kExitUsage;
  }

  const bool blas_pinned = set_compute_threads(s.threads);  // flush-to-zero too
  memory::install_counting_allocator();  // as the trainer runs: its cost is part of the harness
  BenchResults results;
  results.settings = s;
  results.blas_pinned = blas_pinned;
  results.libtorch_version = TORCH_VERSION;
  results.blas = probe_blas();
  results.cpu = cpu_features();
  if (const char* coretype = std::getenv("OPENBLAS_CORETYPE")) results.coretype = coretype;
  results.flush_denormal = flush_denormal_active();
  try {
    const Experiment first = bench_experiment(registry, s, s.methods.front(), s.steps);
    results.device = first.train.device;
    results.clock = BenchClock(resolve_device(first.train.device, 0)).name();
    std::shared_ptr<const LoadedModels> models;
    if (s.toy()) {
      results.model = "toy velocity MLP, width " + std::to_string(s.width) + " x " + std::to_string(s.depth) +
                      " hidden layers";
    } else {
      results.model = "experiment " + s.experiment + " (backbone '" + first.backbone.kind + "', reward '" +
                      first.reward.kind + "')";
      std::fprintf(stderr, "flowbp bench: loading the backbone and reward of %s ...\n", s.experiment.c_str());
      models = load_models(first);
    }
    if (s.subnormal && results.device == "cpu") {
      std::fprintf(stderr, "flowbp bench: subnormal GEMM row ...\n");
      results.subnormal = time_subnormal_gemm();
      set_flush_denormal(results.flush_denormal);  // as it was
    }
    for (const auto& name : s.methods) {
      MethodMeasurement m;
      m.name = name;
      std::fprintf(stderr, "flowbp bench: %s: timing %d iterations ...\n", name.c_str(), s.iters);
      measure_time(registry, s, m, models);
      if (!s.memory_steps.empty()) {
        std::fprintf(stderr, "flowbp bench: %s: peak memory at N = %s ...\n", name.c_str(),
                     vm["memory-steps"].as<std::string>().c_str());
        measure_memory(registry, s, m, models);
      }
      results.methods.push_back(std::move(m));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flowbp bench: %s\n", e.what());
    return kExitFailed;
  }

  std::vector<std::string> py_methods;
  for (const auto& name : s.methods)
    for (const auto& supported : python_methods())
      if (name == supported) py_methods.push_back(name);
  if (!s.python) {
    results.python_note = "--no-python";
  } else if (!s.toy()) {
    results.python_note = "the reference implements the toy MLP only (not --experiment)";
  } else if (py_methods.empty()) {
    results.python_note = "none of the selected methods is in the reference (flowbp-sparse, leapalign, flowbp-lagrange)";
  } else {
    std::fprintf(stderr, "flowbp bench: Python reference (%s) ...\n", s.reference_script.c_str());
    try {
      results.python = parse_python_result(
          run_reference(s.python_exe, s.reference_script, python_bench_spec(registry, s, py_methods)));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "flowbp bench: %s\n", e.what());
      return kExitFailed;
    }
  }

  const std::vector<Goal> goals = evaluate_goals(results);
  print_report(std::cout, results, goals);
  if (vm.count("json")) {
    const std::string path = vm["json"].as<std::string>();
    std::ofstream out(path);
    out << report_json(results, goals).dump() << '\n';
    if (!out) {
      std::fprintf(stderr, "flowbp bench: cannot write %s\n", path.c_str());
      return kExitFailed;
    }
  }
  return kExitDone;
}

}  // namespace flowbp::cli
