// `flowbp sweep`: expand a TOML sweep into runs, validate every one, and run them
// as child `flowbp train` processes (docs/SWEEPS.md).
#include <boost/program_options.hpp>

#include <climits>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <unistd.h>

#include "command_line.h"
#include "commands.h"
#include "plugin_loading.h"
#include "flowbp/registry.h"
#include "flowbp/reward.h"
#include "flowbp/sweep.h"
#include "flowbp/sweep_exec.h"
#include "flowbp/sweep_shard.h"
#include "flowbp/sweep_listing.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace flowbp::cli {

namespace {

std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the flowbp executable (/proc/self/exe)");
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

const char* const kHelpTail = R"(
A sweep file names a base experiment and axes over dotted keys:

  base = "../experiments/toy.toml"    # relative to the sweep file
  [set]                               # fixed for every run
  "train.steps" = 200
  [[grid]]                            # cartesian product
  "method.name" = ["refl", "flowbp-sparse"]
  "train.seed" = [1, 2, 3]
  [[zip]]                             # paired lists of equal length
  "method.K" = [2, 4]
  "method.beta" = [0.1, 0.3]
  [[list]]                            # explicit alternatives
  variants = [ { "method.P" = 1 }, { "method.P" = 3, "method.weights" = "uniform" } ]
  [method_overrides.flowbp-lagrange]  # only for runs of that method
  K = 4

Every run is validated before any starts. Each run is `flowbp train` in its own
process; its directory is <out>/runs/<name>, its state in <out>/sweep_index*.tsv.
Exit status: 0 all runs done, 2 bad sweep or usage, 3 some runs failed, 4 some
runs held by another process, 130 stopped by Ctrl-C/SIGTERM (--resume continues).
Full reference: docs/SWEEPS.md.
)";

}  // namespace

int sweep(const Args& args) {
  std::string sweep_path, out_dir, shard_text, emit_slurm, slurm_time;
  int jobs = 1, threads = 0, tasks = 0, jobs_per_task = 1;
  std::vector<std::string> plugin_dirs, sbatch_lines;
  po::options_description opts("flowbp sweep SWEEP.toml [options]");
  opts.add_options()("help,h", "show this help")
      ("out,o", po::value(&out_dir), "output directory (default: runs/<sweep name>)")
      ("jobs,j", po::value(&jobs)->default_value(1), "runs at once")
      ("threads", po::value(&threads)->default_value(0),
       "torch threads per run (default: the run's train.threads, capped at cores / jobs)")
      ("dry-run,n", "validate every run and list them; start nothing")
      ("resume", "continue a sweep: finished runs are kept, interrupted ones continue from their checkpoint")
      ("retry-failed", "with --resume: run failed runs again (a failed run directory is moved to failed_attempts/)")
      ("shard", po::value(&shard_text), "run only slice i/n of the runs (0 <= i < n), e.g. 0/4")
      ("status", "print every run's state from the output directory (all shards merged) and exit")
      ("emit-slurm", po::value(&emit_slurm)->implicit_value(""),
       "write a Slurm array script (to FILE, default <out>/<name>.slurm.sh) whose tasks are shards; start nothing")
      ("tasks", po::value(&tasks)->default_value(0), "--emit-slurm: array tasks (default: runs / jobs-per-task)")
      ("jobs-per-task", po::value(&jobs_per_task)->default_value(1), "--emit-slurm: runs at once inside a task")
      ("slurm-time", po::value(&slurm_time), "--emit-slurm: #SBATCH --time, e.g. 04:00:00")
      ("sbatch", po::value(&sbatch_lines)->composing(),
       "--emit-slurm: an extra #SBATCH line, e.g. --sbatch=--partition=cpu (repeatable)")
      ("plugin-dir", po::value(&plugin_dirs)->composing(), "extra directory of method plugins (repeatable)")
      ("quiet,q", "no progress display");
  po::options_description hidden;
  hidden.add_options()("sweep", po::value(&sweep_path), "the sweep file");
  po::positional_options_description pos;
  pos.add("sweep", 1);
  po::variables_map vm;
  try {
    vm = parse_options(args, opts, hidden, pos);
  } catch (const UsageError& e) {
    return usage_error("sweep", e.what());
  }
  if (vm.count("help")) {
    std::cout << opts << kHelpTail;
    return 0;
  }
  if (sweep_path.empty()) {
    std::cerr << "flowbp sweep: give a sweep file, e.g. flowbp sweep sweeps/quick.toml (--help for more)\n";
    return 2;
  }
  if (!vm.count("emit-slurm")) {
    for (const char* slurm_only : {"tasks", "jobs-per-task", "slurm-time", "sbatch"})
      if (vm.count(slurm_only) && !vm[slurm_only].defaulted()) {
        std::cerr << "flowbp sweep: --" << slurm_only << " only applies with --emit-slurm\n";
        return 2;
      }
  }
  if (jobs < 1 || jobs_per_task < 1 || threads < 0 || tasks < 0) {
    std::cerr << "flowbp sweep: --jobs and --jobs-per-task must be >= 1, --threads and --tasks >= 0\n";
    return 2;
  }
  Shard shard;
  try {
    if (!shard_text.empty()) shard = parse_shard(shard_text);
  } catch (const std::invalid_argument& e) {
    std::cerr << "flowbp sweep: " << e.what() << "\n";
    return 2;
  }

  SweepSpec spec;
  std::vector<SweepRun> runs;
  try {
    Registry registry;
    load_method_plugins(registry, plugin_dirs, "sweep");
    const Catalog catalog = model_catalog(&registry);
    spec = parse_sweep_file(sweep_path, catalog);
    runs = resolve_sweep(spec, catalog);
  } catch (const SweepError& e) {
    std::cerr << "flowbp sweep: " << sweep_path << " is not a valid sweep:\n" << e.what() << "\n";
    return 2;
  }
  if (runs.empty()) {
    std::cerr << "flowbp sweep: " << sweep_path << " expands to no runs\n";
    return 2;
  }
  if (out_dir.empty()) out_dir = "runs/" + spec.name;
  if (fs::exists(out_dir) && !fs::is_directory(out_dir)) {
    std::cerr << "flowbp sweep: --out " << out_dir << ": exists and is not a directory\n";
    return 2;
  }
  const std::vector<SweepRun> mine = shard_runs(runs, shard);

  if (vm.count("status")) {
    if (!fs::is_directory(out_dir)) {
      std::cerr << "flowbp sweep: " << out_dir << ": no such output directory (nothing has run yet?)\n";
      return 1;
    }
    return print_status(runs, out_dir, std::cout);
  }
  if (vm.count("dry-run")) {
    print_run_list(spec, runs, mine, shard, out_dir, std::cout);
    return 0;
  }

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (vm.count("emit-slurm")) {
    if (!vm["jobs"].defaulted())
      throw std::invalid_argument("--jobs applies to a sweep run here; with --emit-slurm use --jobs-per-task (runs at "
                                  "once inside an array task) and --tasks");
    if (vm.count("resume") || vm.count("retry-failed") || vm.count("shard"))
      throw std::invalid_argument("--emit-slurm writes a script whose tasks are the shards and resume by themselves; "
                                  "drop --resume, --retry-failed and --shard");
    if (static_cast<std::size_t>(tasks) > runs.size())
      throw std::invalid_argument("--tasks " + std::to_string(tasks) + ": the sweep has " + std::to_string(runs.size()) +
                                  " runs; more array tasks than runs would leave tasks with nothing to do");
    if (!slurm_time.empty() && !is_slurm_time(slurm_time))
      throw std::invalid_argument("--slurm-time '" + slurm_time +
                                  "' is not a Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS "
                                  "(e.g. 04:00:00)");
    SlurmOptions so;
    so.flowbp_exe = self_exe();
    so.sweep_path = absolute(sweep_path);
    so.out_dir = absolute(out_dir);
    so.job_name = "flowbp-" + spec.name;
    so.jobs_per_task = jobs_per_task;
    so.threads_per_run = threads > 0 ? threads : 1;
    so.tasks = tasks > 0 ? tasks : static_cast<int>((runs.size() + static_cast<std::size_t>(jobs_per_task) - 1) /
                                                    static_cast<std::size_t>(jobs_per_task));
    so.time_limit = slurm_time;
    so.sbatch_lines = sbatch_lines;
    for (const auto& d : plugin_dirs) {
      so.extra_args.push_back("--plugin-dir");
      so.extra_args.push_back(absolute(d));
    }
    const std::string script_path = emit_slurm.empty() ? out_dir + "/" + spec.name + ".slurm.sh" : emit_slurm;
    // Slurm opens --output before the script runs, so its folder must exist already.
    fs::create_directories(so.out_dir + "/slurm");
    if (fs::path(script_path).has_parent_path()) fs::create_directories(fs::path(script_path).parent_path());
    {
      std::ofstream f(script_path, std::ios::trunc);
      f << slurm_script(so);
      if (!f) throw std::runtime_error(script_path + ": cannot write the Slurm script");
    }
    fs::permissions(script_path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
    std::cout << "wrote " << script_path << ": " << so.tasks << " array tasks over " << runs.size()
              << " runs; submit with: sbatch " << script_path << "\n";
    return 0;
  }

  ExecOptions options;
  options.out_dir = out_dir;
  options.flowbp_exe = self_exe();
  options.jobs = jobs;
  options.threads = threads;
  options.cores = static_cast<int>(cores);
  options.resume = vm.count("resume") || vm.count("retry-failed");
  options.retry_failed = vm.count("retry-failed") != 0;
  options.shard = shard;
  for (const auto& d : plugin_dirs) options.plugin_dirs.push_back(absolute(d));
  options.progress = !vm.count("quiet");
  require_resumable(options);
  const SweepLock lock(options);
  prepare_out_dir(runs, mine, options);
  if (options.progress)
    std::cerr << "sweep " << spec.name << ": " << mine.size() << " runs"
              << (shard.count > 1 ? " (shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count) +
                                        " of " + std::to_string(runs.size()) + ")"
                                  : std::string())
              << ", " << jobs << " at once, "
              << (threads > 0 ? std::to_string(threads) : "at most " + std::to_string(std::max(1, options.cores / jobs)))
              << " thread(s) each -> " << out_dir << "\n";
  const ExecSummary summary = execute_sweep(mine, options);
  std::cerr << "sweep " << spec.name << ": " << summary.done << " done, " << summary.failed << " failed";
  if (summary.interrupted) std::cerr << ", " << summary.interrupted << " interrupted";
  if (summary.busy) std::cerr << ", " << summary.busy << " held by another process";
  if (summary.skipped) std::cerr << " (" << summary.skipped << " finished earlier)";
  std::cerr << "; index: " << out_dir << "/" << index_file_name(shard.index, shard.count) << "\n";
  if (summary.stopped_by_signal) std::cerr << "stopped; continue with: flowbp sweep " << sweep_path << " --out " << out_dir << " --resume\n";
  else if (summary.failed) std::cerr << "failed runs: see the index's reason column and " << out_dir << "/logs/; rerun them with --retry-failed\n";
  return summary.exit_code();
}

}  // namespace flowbp::cli
