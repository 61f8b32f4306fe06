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

#include "flowbp/toy_backbone.h"

namespace flowbp {

// Separate streams, as in the authors' code: noise (seed + rank), index selection
// (what method.plan draws), data order (the conditions of each batch).
struct RngStreams {
  at::Generator noise;
  std::mt19937_64 index;
  std::mt19937_64 data;
  static RngStreams seeded(std::int64_t seed, int rank);
};

struct TrainingState {
  ToyVelocityNet model{nullptr};
  ToyVelocityNet ema{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  RngStreams rng;
  std::int64_t step = 0;       // training steps completed
  std::int64_t eval_rows = 0;  // rows of /eval written when the state was taken
};

void save_checkpoint(const std::string& path, const TrainingState& state, const std::string& config_id);
// Restores into a state built for the same configuration; throws std::runtime_error
// naming the file when it is damaged or belongs to another configuration.
void load_checkpoint(const std::string& path, TrainingState& state, const std::string& config_id);

}  // namespace flowbp
