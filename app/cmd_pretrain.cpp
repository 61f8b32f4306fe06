// `flowbp pretrain CONFIG [options]`: builds (or finds, verified) every pre-trained
// model an experiment needs — the backbone and the reward's and evaluators' networks —
// in the cache, with progress lines, and says where each came from. `flowbp train`
// does the same on first use; running this first keeps a sweep's runs from waiting on
// one that pre-trains, and is how the shipped checkpoints (pretrained/) were made.
// Exit codes: 0 ready, 2 bad configuration or usage, 3 building a model failed.
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.h"
#include "commands.h"
#include "override_checks.h"
#include "flowbp/clock.h"
#include "flowbp/compute.h"
#include "flowbp/compute_threads.h"
#include "flowbp/experiment.h"
#include "flowbp/progress.h"
#include "flowbp/resource_checks.h"
#include "flowbp/reward.h"

namespace po = boost::program_options;

namespace flowbp::cli {

namespace {

constexpr int kExitDone = 0, kExitUsage = 2, kExitFailed = 3;

const char* kUsage =
    "usage: flowbp pretrain CONFIG.toml [options]\n\n"
    "Pre-trains the experiment's backbone and trains its reward and evaluator networks into the\n"
    "cache (or finds them there or among the shipped files, verified), printing where each\n"
    "came from. flowbp train does this on first use; run it once before a sweep.\n\n"
    "example: flowbp pretrain experiments/fashion_mnist.toml --threads 2\n";

}  // namespace

int pretrain(const Args& args) {
  po::options_description visible("options");
  visible.add_options()
      ("help,h", "show this help")
      ("set,s", po::value<std::vector<std::string>>()->composing(), "override a dotted key (repeatable)")
      ("threads", po::value<int>()->default_value(1), "torch threads")
      ("device", po::value<std::string>(), "cpu, cuda or cuda:<i> (same as --set train.device=...)")
      ("cache-dir", po::value<std::string>(), "cache (default: backbone.cache_dir, $FLOWBP_CACHE_DIR, ~/.cache/flowbp)")
      ("quiet,q", "no progress lines");
  po::options_description hidden;
  hidden.add_options()("config", po::value<std::string>(), "experiment TOML");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  try {
    vm = parse_options(args, visible, hidden, positional);
  } catch (const UsageError& e) {
    return usage_error("pretrain", e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << visible;
    return kExitDone;
  }
  if (!vm.count("config")) {
    std::fprintf(stderr, "flowbp pretrain: missing the experiment file\n\n%s", kUsage);
    return kExitUsage;
  }

  Experiment e;
  ModelContext context;
  try {
    const std::vector<Override> overrides = command_line_overrides(vm);
    // The method does not matter here: its settings are not checked (no plugins loaded).
    e = load_experiment(vm["config"].as<std::string>(), overrides, model_catalog(nullptr));
    const int threads = vm["threads"].as<int>();
    if (threads < 1) throw ConfigError("--threads: must be at least 1");
    require_cores(threads, true);
    set_compute_threads(threads);
    context.cache_dir = vm.count("cache-dir") ? vm["cache-dir"].as<std::string>() : resolved_cache_dir(e.backbone);
    require_directory_or_absent(context.cache_dir, vm.count("cache-dir") ? "--cache-dir" : "the cache folder");
    context.device = make_compute(e.train.device, 0, false, false).device;
    context.quiet = vm.count("quiet") != 0;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "flowbp pretrain: %s\n", ex.what());
    return kExitUsage;
  }
  const auto start = Clock::now();
  try {
    const Backbone backbone = load_backbone(e.backbone, context);
    std::fprintf(stderr, "%s\n", backbone.note.c_str());
    const Reward reward = create_reward(e.reward, backbone, context);
    if (!reward.note.empty()) std::fprintf(stderr, "%s\n", reward.note.c_str());
  } catch (const ConfigError& ex) {
    std::fprintf(stderr, "flowbp pretrain: %s\n", ex.what());
    return kExitUsage;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "flowbp pretrain: %s\n", ex.what());
    return kExitFailed;
  }
  std::fprintf(stderr, "flowbp pretrain: ready in %s (cache %s)\n", format_duration(since(start)).c_str(),
               context.cache_dir.c_str());
  return kExitDone;
}

}  // namespace flowbp::cli
