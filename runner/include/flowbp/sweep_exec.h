// Running a sweep's runs as child processes (`flowbp train`), a few at a time,
// with an index of their states, resume after any interruption, and a progress line.
//
// Output directory layout:
//   sweep_runs.tsv            every run of the sweep: id, name, method, the values that vary
//   sweep_index*.tsv          run states (one file per shard), rewritten atomically
//   configs/<name>.toml       the resolved configuration each run trains from
//   runs/<name>/              the trainer's run directory (config.toml, log.h5, checkpoint)
//   logs/<name>.log           the run's stdout and stderr, appended per attempt
//   locks/<name>.lock         held (flock) by the process running the run
//   failed_attempts/<name>.N/ a failed run's directory, moved aside by --retry-failed
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "flowbp/sweep.h"
#include "flowbp/sweep_index.h"
#include "flowbp/sweep_shard.h"

namespace flowbp {

struct ExecOptions {
  std::string out_dir;
  std::string flowbp_exe;  // the executable children run (`<exe> train ...`)
  int jobs = 1;            // runs at once
  int threads = 0;         // torch threads per run; 0: the run's train.threads, capped at cores / jobs
  int cores = 1;           // of this machine, for that cap
  bool resume = false;
  bool retry_failed = false;
  Shard shard;
  std::vector<std::string> plugin_dirs;  // passed on to every run
  bool progress = true;                  // the progress line on `log`
  std::FILE* log = stderr;
  int stop_grace_ms = 10000;             // after SIGTERM to the runs, before SIGKILL
};

struct ExecSummary {
  int total = 0;        // runs of this shard
  int done = 0;         // finished, now or before
  int failed = 0;
  int interrupted = 0;  // stopped by Ctrl-C/SIGTERM; --resume continues them
  int busy = 0;         // held by another process (another shard, another sweep)
  int skipped = 0;      // already done or failed before this invocation
  bool stopped_by_signal = false;
  // 0 all done; 3 some failed; 4 some busy elsewhere; 130 stopped by a signal.
  int exit_code() const;
};

// Writes the sweep's files (sweep_runs.tsv, configs/ for all runs) and, unless
// options.resume, checks that none of my_runs (this shard's) has results there yet.
// Throws std::runtime_error.
void prepare_out_dir(const std::vector<SweepRun>& all_runs, const std::vector<SweepRun>& my_runs,
                     const ExecOptions& options);

// What a run's directory says before running it: "new", "done", "failed", "partial"
// (started, not finished: resume continues it).
struct RunInspection {
  std::string state;
  std::string reason;
  long long steps_done = 0, steps_total = 0;
  long long checkpoint_step = -1;  // what a resume continues after; -1 unknown (or none yet)
};
RunInspection inspect_run(const std::string& out_dir, const SweepRun& run);

// This invocation's claim on <out>/locks/sweep<shard>.lock, held until destroyed: two
// sweeps over the same runs of one output directory at once would fight over its index
// (shards of one sweep run side by side: each has its own).
// With --resume, the output directory must hold a sweep (its sweep_runs.tsv): resuming
// into an empty or mistyped directory would silently run everything. Throws
// std::runtime_error saying so.
void require_resumable(const ExecOptions& options);

class SweepLock {
 public:
  // Throws std::runtime_error naming the directory and the holder when it is taken.
  explicit SweepLock(const ExecOptions& options);
  ~SweepLock();
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
};
// What resuming a partial run does, for the index and progress lines: "continuing after
// its checkpoint at step 25 (37 steps logged)".
std::string continuing_text(const RunInspection& inspection);

// The torch threads a run gets: options.threads if set, else its train.threads
// capped so that jobs x threads fits options.cores (at least 1).
int threads_for(const SweepRun& run, const ExecOptions& options);

// Runs the shard's runs; never throws for a failing run (it is recorded). Returns
// when every run is done, failed or busy, or after a stop signal.
ExecSummary execute_sweep(const std::vector<SweepRun>& runs, const ExecOptions& options);

}  // namespace flowbp
