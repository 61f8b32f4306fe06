// One training run, end to end: backbone, rollouts, the method's plan, the
// surrogate, hinge loss, AdamW with clipping and EMA, evaluation, the HDF5 log
// and checkpoints, in <run dir>/{config.toml, log.h5, checkpoint.bin}.
#pragma once
#include <cstdint>
#include <string>

#include "flowbp/distributed.h"
#include "flowbp/error_message.h"
#include "flowbp/experiment.h"
#include "flowbp/method.h"

namespace flowbp {

struct TrainOptions {
  std::string run_dir;              // created when missing
  std::string run_name;             // the log's run_name attribute
  bool resume = false;              // continue the run in run_dir (done runs are left untouched)
  bool quiet = false;               // no progress or notes on stderr
  int threads = 0;                  // torch threads; 0 = train.threads
  std::string cache_dir;            // backbone cache; "" = resolved_cache_dir(backbone)
  std::int64_t stop_after_step = -1;  // test-only: quit right after logging this step, as if killed
  // Data parallelism: with world_size > 1 the ranks join a c10d group (Gloo on the CPU,
  // NCCL on CUDA); train.batch is the global batch. Only rank 0 writes files.
  RankInfo ranks;
  std::string dump_weights;         // test-only: rank 0 writes the final weights as text here
};

enum class RunOutcome {
  Done,         // all steps trained, status "done"
  AlreadyDone,  // --resume found a finished run and changed nothing
  Failed,       // NaN/Inf or an error mid-run: status "failed" with the reason
  Stopped,      // stop_after_step: status still "running", resumable
};

struct TrainResult {
  RunOutcome outcome = RunOutcome::Done;
  std::string reason;          // why it failed
  std::int64_t steps_done = 0;
  std::int64_t resumed_from = 0;  // the checkpoint step a resumed run continued after
  double seconds = 0;
};

// Errors before the run starts (an existing run dir without --resume, a config that
// differs from the run dir's, a batch that does not divide by the world size, a
// device this build lacks, TorchScript models that fail their probe) throw
// ConfigError; failures during it (a rank that died included) are returned.
TrainResult train_run(const Experiment& experiment, const Method& method, const TrainOptions& options);


// The training conditions: every class not in eval.held_out_conditions, or all
// classes when every class is held out (the default).
std::vector<std::int64_t> training_conditions(const Experiment& experiment);

}  // namespace flowbp
