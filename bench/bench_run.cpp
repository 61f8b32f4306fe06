#include "bench_run.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "flowbp/trainer.h"

namespace flowbp::bench {

namespace {

bool declares(const Method& method, const std::string& param) {
  for (const auto& spec : method.settings())
    if (spec.name == param) return true;
  return false;
}

Override set(const std::string& key, const std::string& value, const char* origin = "command line") {
  return parse_override(key + "=" + value, origin);
}

Compute compute_of(const Experiment& e) {
  try {
    return make_compute(e.train.device, 0, e.train.autocast == "bf16", e.train.tf32);
  } catch (const std::invalid_argument& error) {
    throw ConfigError(std::string("train.device: ") + error.what());
  }
}

}  // namespace

Experiment bench_experiment(const Registry& registry, const BenchSettings& settings, const std::string& method,
                            int steps) {
  std::vector<Override> overrides = {set("method.name", "\"" + method + "\""),
                                     set("train.threads", std::to_string(settings.threads)),
                                     set("sampling.steps", std::to_string(steps))};
  if (settings.toy()) {
    overrides.push_back(set("backbone.hidden", std::to_string(settings.width)));
    overrides.push_back(set("backbone.layers", std::to_string(settings.depth)));
    overrides.push_back(set("train.seed", std::to_string(settings.seed)));
    // The PyTorch reference (reference.py) implements the first edition's samplers and
    // rules: on the toy every method runs its spec-v1 preset.
    if (registry.has(method))
      for (const auto& preset : registry.get(method).presets())
        if (preset.name == "spec-v1") overrides.push_back(set("method.preset", "\"spec-v1\""));
  }
  if (settings.batch > 0) overrides.push_back(set("train.batch", std::to_string(settings.batch)));
  if (!settings.device.empty()) overrides.push_back(set("train.device", "\"" + settings.device + "\"", "--device"));
  // full-bp is the linear-memory reference: it always backpropagates through all N steps.
  if (settings.K > 0 && method != "full-bp" && registry.has(method) && declares(registry.get(method), "K"))
    overrides.push_back(set("method.K", std::to_string(settings.K)));
  for (const auto& text : settings.sets) overrides.push_back(parse_override(text, "--set"));
  const Catalog catalog = model_catalog(&registry);
  return settings.toy() ? parse_experiment("", "command line", overrides, catalog)
                        : load_experiment(settings.experiment, overrides, catalog);
}

std::shared_ptr<const LoadedModels> load_models(const Experiment& e) {
  const Compute compute = compute_of(e);
  const ModelContext context{resolved_cache_dir(e.backbone), compute.device, /*quiet=*/false};
  auto models = std::make_shared<LoadedModels>();
  models->backbone = load_backbone(e.backbone, context);
  models->reward = create_reward(e.reward, models->backbone, context);
  return models;
}

BenchRun::BenchRun(const Registry& registry, const BenchSettings& settings, const std::string& method, int steps,
                   bool reuse_rollout, std::shared_ptr<const LoadedModels> models)
    : experiment_(bench_experiment(registry, settings, method, steps)),
      timed_(registry.get(experiment_.method)),
      schedule_(Schedule::make(static_cast<int>(experiment_.sampling.steps),
                               experiment_.sampling.shift_for(experiment_.sampling.steps))),
      compute_(compute_of(experiment_)),
      models_(std::move(models)),
      conditions_(training_conditions(experiment_)),
      reuse_rollout_(reuse_rollout) {
  if (settings.toy()) {
    const ToyConfig toy = ToyConfig::from(experiment_.backbone.settings);
    const GaussianMixture mixture = toy.mixture();
    toy_reward_ = std::make_unique<ModePreferenceReward>(mixture, ModePreferenceConfig::from(experiment_.reward.settings));
    const ModePreferenceReward* reward = toy_reward_.get();
    // The reward is closed-form CPU code: GPU samples reach it through differentiable copies.
    reward_fn_ = [reward](const at::Tensor& x, const at::Tensor& cond) {
      if (x.is_cpu()) return (*reward)(x, cond);
      return (*reward)(x.to(at::kCPU), cond.to(at::kCPU)).to(x.device());
    };
    latents_ = {{mixture.dim}, mixture.null_condition()};
    conditions_count_ = mixture.classes;
    at::manual_seed(settings.seed);
    state_.model = wrap_toy(make_velocity_net(toy), toy);
  } else {
    if (!models_) throw std::logic_error("BenchRun: an experiment run needs its loaded models");
    reward_fn_ = models_->reward.fn;
    latents_ = models_->backbone.latents;
    conditions_count_ = models_->backbone.conditions;
    state_.model = models_->backbone.base->clone();
  }
  state_.model->to(compute_.device);
  state_.ema = state_.model->clone();
  state_.model->train();
  state_.ema->eval();
  for (auto& p : state_.ema->parameters()) p.set_requires_grad(false);
  state_.optimizer = std::make_unique<torch::optim::AdamW>(
      state_.model->parameters(),
      torch::optim::AdamWOptions(experiment_.train.lr).weight_decay(experiment_.train.weight_decay));
  state_.rng = RngStreams::seeded(experiment_.train.seed, 0);
}

const ModePreferenceReward& BenchRun::reward() const {
  if (!toy_reward_) throw std::logic_error("BenchRun::reward: only the toy bench has the mode-preference reward");
  return *toy_reward_;
}

StepRecord BenchRun::step() {
  const Experiment& e = experiment_;
  StepContext context = step_context(e);
  context.method = &timed_;
  context.schedule = &schedule_;
  context.latents = latents_;
  context.reward = reward_fn_;
  context.conditions = &conditions_;
  // One micro-batch, no diagnostic: the bounds count the forwards of one batch.
  context.grad_accumulation = 1;
  context.diagnostics = {};
  context.compute = compute_;
  context.reuse_rollout = reuse_rollout_;
  StepOutcome outcome = train_step(context, state_, ++steps_done_);
  if (!outcome.failure.empty()) throw std::runtime_error(e.method + ": " + outcome.failure);
  state_.step = steps_done_;
  return outcome.record;
}

}  // namespace flowbp::bench
