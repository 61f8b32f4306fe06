// Everything a run needs to continue as if it had never stopped: weights, EMA
// weights, optimizer moments, every random stream and the log position, in one
// sealed file written atomically (write temp + rename).
#pragma once
#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "flowbp/velocity_model.h"

namespace flowbp {

// Separate streams, as in the authors' code: noise, index selection (what
// method.plan draws), data order (the conditions of each batch). The authors seed
// noise with seed + rank; data-parallel flowbp runs give every rank rank 0's
// streams and each rank takes its slice of the global batch's draws, so W ranks
// train on exactly the samples one process would (docs/DISTRIBUTED.md).
struct RngStreams {
  at::Generator noise;
  std::mt19937_64 index;
  std::mt19937_64 data;
  static RngStreams seeded(std::int64_t seed, int rank);
};

struct TrainingState {
  std::shared_ptr<VelocityModel> model;
  std::shared_ptr<VelocityModel> ema;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  RngStreams rng;
  std::int64_t step = 0;       // training steps completed
  std::int64_t eval_rows = 0;  // rows of /eval written when the state was taken
};

void save_checkpoint(const std::string& path, const TrainingState& state, const std::string& config_id);
// Restores into a state built for the same configuration (tensors land on the
// model's device); throws std::runtime_error
// naming the file when it is damaged or belongs to another configuration.
void load_checkpoint(const std::string& path, TrainingState& state, const std::string& config_id);

}  // namespace flowbp
