#include "bench_run.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "flowbp/reward.h"
#include "flowbp/trainer.h"

namespace flowbp::bench {

namespace {

bool declares(const Method& method, const std::string& param) {
  for (const auto& spec : method.settings())
    if (spec.name == param) return true;
  return false;
}

Override set(const std::string& key, const std::string& value) { return parse_override(key + "=" + value, "command line"); }

}  // namespace

Experiment bench_experiment(const Registry& registry, const BenchSettings& settings, const std::string& method,
                            int steps) {
  std::vector<Override> overrides = {
      set("method.name", "\"" + method + "\""),
      set("backbone.hidden", std::to_string(settings.width)),
      set("backbone.layers", std::to_string(settings.depth)),
      set("train.batch", std::to_string(settings.batch)),
      set("train.threads", std::to_string(settings.threads)),
      set("train.seed", std::to_string(settings.seed)),
      set("sampling.steps", std::to_string(steps)),
  };
  // The PyTorch reference (reference.py) implements the first edition's samplers and
  // rules: every method runs its spec-v1 preset.
  if (registry.has(method))
    for (const auto& preset : registry.get(method).presets())
      if (preset.name == "spec-v1") overrides.push_back(set("method.preset", "\"spec-v1\""));
  // full-bp is the linear-memory reference: it always backpropagates through all N steps.
  if (settings.K > 0 && method != "full-bp" && registry.has(method) && declares(registry.get(method), "K"))
    overrides.push_back(set("method.K", std::to_string(settings.K)));
  return parse_experiment("", "command line", overrides, model_catalog(&registry));
}

BenchRun::BenchRun(const Registry& registry, const BenchSettings& settings, const std::string& method, int steps)
    : experiment_(bench_experiment(registry, settings, method, steps)),
      timed_(registry.get(experiment_.method)),
      schedule_(Schedule::make(static_cast<int>(experiment_.sampling.steps), experiment_.sampling.shift)),
      toy_(ToyConfig::from(experiment_.backbone.settings)),
      mixture_(toy_.mixture()),
      reward_(std::make_unique<ModePreferenceReward>(mixture_, ModePreferenceConfig::from(experiment_.reward.settings))),
      conditions_(training_conditions(experiment_)) {
  at::manual_seed(settings.seed);
  state_.model = wrap_toy(make_velocity_net(toy_), toy_);
  state_.ema = wrap_toy(make_velocity_net(toy_), toy_);
  {
    at::NoGradGuard no_grad;
    const auto from = state_.model->parameters();
    const auto to = state_.ema->parameters();
    for (std::size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  state_.model->train();
  state_.ema->eval();
  for (auto& p : state_.ema->parameters()) p.set_requires_grad(false);
  state_.optimizer = std::make_unique<torch::optim::AdamW>(
      state_.model->parameters(),
      torch::optim::AdamWOptions(experiment_.train.lr).weight_decay(experiment_.train.weight_decay));
  state_.rng = RngStreams::seeded(experiment_.train.seed, 0);
}

StepRecord BenchRun::step() {
  const Experiment& e = experiment_;
  StepContext context;
  context.method = &timed_;
  context.params = &e.method_params;
  context.schedule = &schedule_;
  context.latents = {{mixture_.dim}, mixture_.null_condition()};
  const ModePreferenceReward* reward = reward_.get();
  context.reward = [reward](const at::Tensor& x, const at::Tensor& cond) { return (*reward)(x, cond); };
  context.conditions = &conditions_;
  context.batch = e.train.batch;
  context.guidance = e.sampling.guidance;
  context.tau = e.reward.tau;
  context.loss_scale = e.reward.loss_scale;
  context.max_grad_norm = e.train.max_grad_norm;
  context.ema_decay = e.train.ema_decay;
  context.lr = e.train.lr;
  StepOutcome outcome = train_step(context, state_, ++steps_done_);
  if (!outcome.failure.empty()) throw std::runtime_error(e.method + ": " + outcome.failure);
  state_.step = steps_done_;
  return outcome.record;
}

}  // namespace flowbp::bench
