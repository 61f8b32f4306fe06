// One method's training setup as `flowbp train` would build it: experiment defaults
// from the config schema with the bench's sizes and a freshly initialised toy MLP of
// the benchmark's width (timing does not need the pre-trained weights), or — with
// --experiment — any experiment file's backbone and reward kinds, loaded as the trainer
// loads them. AdamW, EMA and the seeded random streams are the trainer's.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_settings.h"
#include "flowbp/backbone.h"
#include "flowbp/checkpoint.h"
#include "flowbp/compute.h"
#include "flowbp/experiment.h"
#include "flowbp/registry.h"
#include "flowbp/reward.h"
#include "flowbp/train_step.h"
#include "mode_preference.h"
#include "timed_method.h"
#include "toy_backbone.h"

namespace flowbp::bench {

// An experiment file's backbone and reward, loaded once for every run of a bench.
struct LoadedModels {
  Backbone backbone;
  Reward reward;
};
// Throws ConfigError as `flowbp train` does (unknown device, a file the kind cannot load).
std::shared_ptr<const LoadedModels> load_models(const Experiment& experiment);

class BenchRun {
 public:
  // reuse_rollout: the engine the step runs (StepContext::reuse_rollout). `models` is
  // required with settings.experiment and unused otherwise. Throws ConfigError /
  // SettingError (with "did you mean") for a bad method or size.
  BenchRun(const Registry& registry, const BenchSettings& settings, const std::string& method, int steps,
           bool reuse_rollout = true, std::shared_ptr<const LoadedModels> models = nullptr);

  // One trainer step (flowbp::train_step); throws std::runtime_error when it fails.
  StepRecord step();

  const Experiment& experiment() const { return experiment_; }
  const TimedMethod& method() const { return timed_; }
  const Schedule& schedule() const { return schedule_; }
  const Compute& compute() const { return compute_; }
  const LatentSpec& latents() const { return latents_; }
  std::int64_t conditions() const { return conditions_count_; }
  TrainingState& state() { return state_; }
  // The toy's reward (toy runs only; throws std::logic_error otherwise).
  const ModePreferenceReward& reward() const;

 private:
  Experiment experiment_;
  TimedMethod timed_;
  Schedule schedule_;
  Compute compute_;
  LatentSpec latents_;
  std::int64_t conditions_count_ = 1;
  std::unique_ptr<ModePreferenceReward> toy_reward_;
  std::shared_ptr<const LoadedModels> models_;
  RewardFn reward_fn_;
  std::vector<std::int64_t> conditions_;
  TrainingState state_;
  std::int64_t steps_done_ = 0;
  bool reuse_rollout_ = true;
};

// The experiment the bench runs for a method: schema defaults plus the bench's sizes
// (toy), or the experiment file with the method, N, device and --set overrides.
Experiment bench_experiment(const Registry& registry, const BenchSettings& settings, const std::string& method,
                            int steps);

}  // namespace flowbp::bench
