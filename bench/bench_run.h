// One method's training setup as `flowbp train` would build it (experiment
// defaults from the config schema, the toy mixture and reward, AdamW, EMA, the
// seeded random streams), with a freshly initialised velocity model of the
// benchmark's width: timing does not need the pre-trained weights.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "bench_settings.h"
#include "flowbp/checkpoint.h"
#include "flowbp/experiment.h"
#include "flowbp/registry.h"
#include "mode_preference.h"
#include "toy_backbone.h"
#include "flowbp/train_step.h"
#include "timed_method.h"

namespace flowbp::bench {

class BenchRun {
 public:
  // Throws ConfigError / SettingError (with "did you mean") for a bad method or size.
  BenchRun(const Registry& registry, const BenchSettings& settings, const std::string& method, int steps);

  // One trainer step (flowbp::train_step); throws std::runtime_error when it fails.
  StepRecord step();

  const Experiment& experiment() const { return experiment_; }
  const TimedMethod& method() const { return timed_; }
  const Schedule& schedule() const { return schedule_; }
  const GaussianMixture& mixture() const { return mixture_; }
  const ModePreferenceReward& reward() const { return *reward_; }
  TrainingState& state() { return state_; }

 private:
  Experiment experiment_;
  TimedMethod timed_;
  Schedule schedule_;
  ToyConfig toy_;
  GaussianMixture mixture_;
  std::unique_ptr<ModePreferenceReward> reward_;
  std::vector<std::int64_t> conditions_;
  TrainingState state_;
  std::int64_t steps_done_ = 0;
};

// The experiment the bench runs for a method: schema defaults plus the bench's sizes.
Experiment bench_experiment(const Registry& registry, const BenchSettings& settings, const std::string& method,
                            int steps);

}  // namespace flowbp::bench
