#include "flowbp/backbone.h"

#include <ATen/ATen.h>

#include <sstream>

#include "flowbp/torchscript_backbone.h"

namespace flowbp {

LatentSpec::LatentSpec(std::vector<std::int64_t> sample_shape, std::int64_t null_id)
    : shape(std::move(sample_shape)), null_condition(null_id) {}

LatentSpec::LatentSpec(const GaussianMixture& toy) : shape{toy.dim}, null_condition(toy.null_condition()) {}

std::vector<std::int64_t> LatentSpec::batch_shape(std::int64_t batch) const {
  std::vector<std::int64_t> out = {batch};
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

namespace {

// The toy's closed-form pieces live on the CPU: a model on a GPU hands them its
// samples through a differentiable copy.
at::Tensor on_cpu(const at::Tensor& t) { return t.device().is_cpu() ? t : t.cpu(); }

struct ToyParts {
  GaussianMixture mixture;
  std::unique_ptr<ModePreferenceReward> reward;
  std::unique_ptr<Evaluator> evaluator;
};

Backbone toy_backbone(const Experiment& exp, const std::string& cache_dir, const c10::Device& device) {
  BackboneLoadInfo info;
  ToyBackbone toy = load_or_pretrain(exp.backbone, cache_dir, &info);
  auto parts = std::make_shared<ToyParts>();
  parts->mixture = toy.mixture;
  parts->reward = std::make_unique<ModePreferenceReward>(parts->mixture, exp.reward);
  parts->evaluator = std::make_unique<Evaluator>(parts->mixture, *parts->reward);

  Backbone b;
  b.base = wrap_toy(toy.net, exp.backbone);
  b.base->to(device);
  b.latents = LatentSpec(parts->mixture);
  const ModePreferenceReward* reward = parts->reward.get();
  b.reward = [reward](const at::Tensor& x, const at::Tensor& cond) {
    const at::Tensor r = (*reward)(on_cpu(x), on_cpu(cond));
    return x.device().is_cpu() ? r : r.to(x.device());
  };
  b.metrics = eval_metric_columns();
  const Evaluator* evaluator = parts->evaluator.get();
  b.score = [evaluator](const at::Tensor& x, const at::Tensor& cond) {
    return evaluator->score(on_cpu(x), on_cpu(cond));
  };
  b.cache_key = backbone_cache_key(exp.backbone);
  std::ostringstream note;
  note.precision(3);
  if (info.from_cache)
    note << "backbone: loaded " << info.path;
  else
    note << "backbone: pre-trained in " << info.seconds << " s" << (info.rejected.empty() ? "" : " (the cache was ")
         << info.rejected << (info.rejected.empty() ? "" : ", rebuilt)") << ", cached at " << info.path;
  b.note = note.str();
  b.owner = parts;
  return b;
}

const MetricColumn& metric_named(const std::string& name) {
  for (const auto& m : eval_metric_columns())
    if (m.name == name) return m;
  throw std::logic_error("no eval metric " + name);
}

Backbone scripted_backbone(const Experiment& exp, const c10::Device& device) {
  ScriptedModels models = load_torchscript_models(exp.backbone, device);
  Backbone b;
  b.base = models.velocity;
  b.latents = LatentSpec(exp.backbone.latent_shape, exp.backbone.null_condition);
  b.reward = models.reward;
  // Log-density and mode coverage exist only for the toy: the reward's mean and spread remain.
  b.metrics = {metric_named("reward"), metric_named("reward_std")};
  const RewardFn reward = models.reward;
  b.score = [reward](const at::Tensor& x, const at::Tensor& cond) {
    at::NoGradGuard no_grad;
    const at::Tensor r = reward(x, cond).to(at::kDouble);
    return std::vector<double>{r.mean().item<double>(), r.numel() > 1 ? r.std().item<double>() : 0.0};
  };
  b.note = "backbone: TorchScript velocity " + exp.backbone.velocity_model + ", reward " + exp.backbone.reward_model;
  return b;
}

}  // namespace

Backbone load_backbone(const Experiment& exp, const std::string& cache_dir, const c10::Device& device) {
  if (exp.backbone.kind == "torchscript") return scripted_backbone(exp, device);
  if (exp.backbone.kind == "toy-gmm") return toy_backbone(exp, cache_dir, device);
  throw ConfigError("backbone.kind: '" + exp.backbone.kind + "' is not available (toy-gmm, torchscript)");
}

}  // namespace flowbp
