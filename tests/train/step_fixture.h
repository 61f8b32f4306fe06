// A training state and step context built the way the trainer builds them, for tests
// that call train_step directly and read the gradient it leaves in the parameters'
// .grad (the optimizer never clears it).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "flowbp/train_step.h"
#include "train_fixtures.h"

namespace flowbp::testing {

struct StepRig {
  Experiment exp;
  Backbone backbone;
  Reward reward;
  Schedule schedule;
  std::vector<std::int64_t> conditions;
  TrainingState state;
  StepContext context;

  StepRig(const std::string& method, const std::vector<std::string>& sets)
      : exp(experiment(method, sets)),
        backbone(load_backbone(exp.backbone, ModelContext{cache_dir(), c10::Device(c10::kCPU), true})),
        reward(create_reward(exp.reward, backbone, ModelContext{cache_dir(), c10::Device(c10::kCPU), true})),
        schedule(Schedule::make(static_cast<int>(exp.sampling.steps), exp.sampling.shift_for(exp.sampling.steps))),
        conditions(training_conditions(exp)) {
    state.model = backbone.base->clone();
    state.ema = backbone.base->clone();
    state.model->train();
    for (auto& p : state.ema->parameters()) p.set_requires_grad(false);
    state.optimizer = std::make_unique<torch::optim::AdamW>(
        state.model->parameters(), torch::optim::AdamWOptions(exp.train.lr).weight_decay(exp.train.weight_decay));
    state.rng = RngStreams::seeded(exp.train.seed, 0);
    context = step_context(exp);  // the trainer's own filling, so a new training key reaches the rig too
    context.method = &plugins().get(exp.method);
    context.schedule = &schedule;
    context.latents = backbone.latents;
    context.reward = reward.fn;
    context.conditions = &conditions;
  }
  StepRig(const StepRig&) = delete;

  StepRecord step(std::int64_t n) {
    StepOutcome o = train_step(context, state, n);
    if (!o.failure.empty()) throw std::runtime_error(o.failure);
    return o.record;
  }
  // The gradient the step left (after any clipping), flattened in float64.
  at::Tensor gradient() const {
    std::vector<at::Tensor> flat;
    for (const auto& p : state.model->parameters()) flat.push_back(p.grad().detach().to(at::kDouble).reshape({-1}));
    return at::cat(flat);
  }
  static at::Tensor weights(VelocityModel& model) {
    std::vector<at::Tensor> flat;
    for (const auto& p : model.parameters()) flat.push_back(p.detach().to(at::kDouble).reshape({-1}).clone());
    return at::cat(flat);
  }
};

}  // namespace flowbp::testing
