// Splitting a sweep over machines: --shard i/n takes a deterministic slice, and a
// Slurm array script runs one shard per array task.
#pragma once
#include <string>
#include <vector>

#include "flowbp/sweep.h"

namespace flowbp {

struct Shard {
  int index = 0;  // 0-based, like SLURM_ARRAY_TASK_ID with --array=0-(n-1)
  int count = 1;
};

// "i/n" with 0 <= i < n; throws std::invalid_argument with the problem.
Shard parse_shard(const std::string& text);

// The runs of shard i: position k in the order of sorted run ids goes to shard k mod n,
// so shards are disjoint, cover the sweep, and differ in size by at most one. The
// slice keeps the sweep's own order.
std::vector<SweepRun> shard_runs(const std::vector<SweepRun>& runs, const Shard& shard);

struct SlurmOptions {
  std::string flowbp_exe;   // absolute
  std::string sweep_path;   // absolute
  std::string out_dir;      // absolute
  std::string job_name;
  int tasks = 1;            // array size = shard count
  int jobs_per_task = 1;    // runs at once inside a task
  int threads_per_run = 1;
  std::string time_limit;   // "" = the cluster's default
  std::vector<std::string> sbatch_lines;  // extra "#SBATCH <line>" entries, e.g. "--partition=cpu"
  std::vector<std::string> extra_args;    // passed to every `flowbp sweep` (plugin dirs …)
};

// A bash script for `sbatch`: an array of `tasks` tasks, task i running shard i/tasks
// with --resume (so a requeued task continues). Arguments given to the script are
// passed on to `flowbp sweep` (e.g. --dry-run to preview a task).
std::string slurm_script(const SlurmOptions& options);

// Whether `text` is a time limit sbatch accepts: minutes, MM:SS, HH:MM:SS, D-HH,
// D-HH:MM or D-HH:MM:SS (all numbers), or "infinite"/"UNLIMITED".
bool is_slurm_time(const std::string& text);

// Quotes a word for bash.
std::string shell_quote(const std::string& word);

}  // namespace flowbp
