// `flowbp train CONFIG [options]`: one experiment, one method, one seed.
// Exit codes: 0 done (or already done), 2 bad configuration or usage (nothing ran),
// 3 the run failed (NaN/Inf, an error or a dead rank mid-run, recorded in rank 0's
// log), 4 the run could not start (an error before its log existed: nothing recorded).
// Data-parallel ranks are read from torchrun's or Slurm's variables.
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.h"
#include "commands.h"
#include "override_checks.h"
#include "plugin_loading.h"
#include "flowbp/experiment.h"
#include "flowbp/files.h"
#include "flowbp/registry.h"
#include "flowbp/reward.h"
#include "flowbp/trainer.h"

namespace po = boost::program_options;

namespace flowbp::cli {

namespace {

constexpr int kExitDone = 0, kExitUsage = 2, kExitFailed = 3, kExitNotStarted = 4;

const char* kUsage =
    "usage: flowbp train CONFIG.toml [options]\n\n"
    "Trains one method on one experiment and logs it to <out>/<name>/{config.toml, log.h5,\n"
    "checkpoint.bin}. Exit status: 0 done, 2 bad configuration or usage, 3 the run failed\n"
    "(NaN/Inf, an error or a dead rank, recorded in the log), 4 the run could not start\n"
    "(an error before its log existed, e.g. a disk or another process holding the run).\n\n"
    "Data-parallel: start one process per rank the way torchrun or Slurm does (RANK, WORLD_SIZE,\n"
    "MASTER_ADDR, MASTER_PORT, LOCAL_RANK, or SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID); train.batch\n"
    "is the global batch and only rank 0 writes files (docs/DISTRIBUTED.md).\n\n"
    "example: flowbp train experiments/toy.toml --method flowbp-sparse --set method.K=4 --out runs/\n"
    "         flowbp train experiments/toy.toml --method flowbp-bridge --preset authors-sd35 --set method.beta=0.3\n"
    "         torchrun --nproc_per_node 2 --no-python flowbp train experiments/toy.toml\n";

}  // namespace

int train(const Args& args) {
  po::options_description visible("options");
  visible.add_options()
      ("help,h", "show this help")
      ("method,m", po::value<std::string>(), "method to train (same as --set method.name=NAME)")
      ("preset,p", po::value<std::string>(), "the method's preset, e.g. authors-sd35 (same as --set method.preset=NAME; "
                                             "`flowbp methods NAME` lists them); explicit settings override it")
      ("set,s", po::value<std::vector<std::string>>()->composing(),
       "override a dotted key, e.g. --set method.K=4 --set train.lr=3e-4 (repeatable)")
      ("out,o", po::value<std::string>()->default_value("runs"), "directory that holds run directories")
      ("name,n", po::value<std::string>(), "run directory name (default <method>-<config id>)")
      ("plugin-dir", po::value<std::vector<std::string>>()->composing(),
       "extra directory of method plugins, searched first (repeatable)")
      ("threads", po::value<int>(), "torch threads (default: train.threads)")
      ("device", po::value<std::string>(), "cpu, cuda or cuda:<i> (same as --set train.device=...)")
      ("cache-dir", po::value<std::string>(), "backbone cache (default: backbone.cache_dir, $FLOWBP_CACHE_DIR, "
                                              "~/.cache/flowbp)")
      ("quiet,q", "no progress line")
      ("resume", "continue the run in <out>/<name> from its last checkpoint; a finished run is left as it is");
  po::options_description hidden;
  hidden.add_options()
      ("config", po::value<std::string>(), "experiment TOML")
      ("stop-after-step", po::value<long long>(), "test only: quit after logging this step, as if killed")
      ("dump-weights", po::value<std::string>(), "test only: rank 0 writes the final weights as text");
  po::positional_options_description positional;
  positional.add("config", 1);

  po::variables_map vm;
  try {
    vm = parse_options(args, visible, hidden, positional);
  } catch (const UsageError& e) {
    return usage_error("train", e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << visible;
    return kExitDone;
  }
  if (!vm.count("config")) {
    std::fprintf(stderr, "flowbp train: missing the experiment file\n\n%s", kUsage);
    return kExitUsage;
  }

  const std::string config_path = vm["config"].as<std::string>();
  std::vector<Override> overrides;
  TrainOptions options;
  std::string run_name;
  Experiment experiment;
  const Method* method = nullptr;
  Registry registry;
  try {
    overrides = command_line_overrides(vm);
    load_method_plugins(registry,
                        vm.count("plugin-dir") ? vm["plugin-dir"].as<std::vector<std::string>>()
                                               : std::vector<std::string>{},
                        "train");
    experiment = load_experiment(config_path, overrides, model_catalog(&registry));
    method = &registry.get(experiment.method);
    run_name = vm.count("name") ? vm["name"].as<std::string>() : experiment.method + "-" + config_id(experiment);
    if (run_name.empty() || run_name.find('/') != std::string::npos || run_name == "." || run_name == "..")
      throw ConfigError("--name: '" + run_name + "' is not a directory name");
    require_directory_or_absent(vm["out"].as<std::string>(), "--out");
    options.run_dir = vm["out"].as<std::string>() + "/" + run_name;
    options.run_name = run_name;
    options.resume = vm.count("resume") != 0;
    options.quiet = vm.count("quiet") != 0;
    if (vm.count("threads")) {
      options.threads = vm["threads"].as<int>();
      if (options.threads < 1) throw ConfigError("--threads: must be at least 1");
    }
    if (vm.count("cache-dir")) options.cache_dir = vm["cache-dir"].as<std::string>();
    require_directory_or_absent(options.cache_dir.empty() ? resolved_cache_dir(experiment.backbone) : options.cache_dir,
                                vm.count("cache-dir") ? "--cache-dir" : "backbone.cache_dir");
    if (vm.count("stop-after-step")) options.stop_after_step = vm["stop-after-step"].as<long long>();
    if (vm.count("dump-weights")) options.dump_weights = vm["dump-weights"].as<std::string>();
    options.ranks = detect_ranks();
    // Ranks other than 0 print only what goes wrong.
    if (options.ranks.rank != 0) options.quiet = true;
  } catch (const std::exception& e) {  // ConfigError, SettingError, PluginError: the message says it all
    std::fprintf(stderr, "flowbp train: %s\n", e.what());
    return kExitUsage;
  }

  TrainResult result;
  try {
    result = train_run(experiment, *method, options);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "flowbp train: %s\n", e.what());
    return kExitUsage;
  } catch (const DistributedError& e) {  // a rank that never arrived, or died before the log existed
    std::fprintf(stderr, "flowbp train: %s\n", e.what());
    return kExitNotStarted;
  } catch (const std::exception& e) {  // before the log existed: nothing to record it in
    std::fprintf(stderr, "flowbp train: %s: %s\n", options.run_dir.c_str(), error_message(e).c_str());
    return kExitNotStarted;
  }
  switch (result.outcome) {
    case RunOutcome::AlreadyDone:
      if (!options.quiet) std::fprintf(stderr, "flowbp train: %s is already done\n", options.run_dir.c_str());
      return kExitDone;
    case RunOutcome::Failed:
      std::fprintf(stderr, "flowbp train: %s failed: %s\n", options.run_dir.c_str(), result.reason.c_str());
      return kExitFailed;
    case RunOutcome::Stopped:
    case RunOutcome::Done:
      if (!options.quiet) {
        const long long trained = result.steps_done - result.resumed_from;
        if (result.resumed_from > 0)
          std::fprintf(stderr, "flowbp train: %s: steps %lld-%lld (%lld steps, resumed after step %lld) in %.1f s\n",
                       options.run_dir.c_str(), static_cast<long long>(result.resumed_from) + 1,
                       static_cast<long long>(result.steps_done), trained, static_cast<long long>(result.resumed_from),
                       result.seconds);
        else
          std::fprintf(stderr, "flowbp train: %s: %lld steps in %.1f s\n", options.run_dir.c_str(), trained,
                       result.seconds);
      }
      return kExitDone;
  }
  return kExitDone;
}

}  // namespace flowbp::cli
