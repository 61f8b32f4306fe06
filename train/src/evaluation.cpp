#include "flowbp/evaluation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "flowbp/rollout.h"
#include "flowbp/velocity.h"

namespace flowbp {

EvalSuite::EvalSuite(const Experiment& experiment, const Backbone& backbone, const Reward& reward,
                     const Compute& compute)
    : backbone_(backbone),
      reward_(reward),
      compute_(compute),
      steps_(static_cast<int>(experiment.eval.steps)),
      shift_(experiment.sampling.shift_for(experiment.eval.steps)),
      guidance_(experiment.eval.guidance) {
  const std::vector<std::int64_t>& held_out = experiment.eval.held_out_conditions;
  const int64_t per = experiment.eval.samples_per_condition;
  cond_ = at::tensor(held_out, at::kLong).repeat_interleave(per);
  at::Generator gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(experiment.eval.noise_seed));
  // Drawn on the CPU whatever the device: the same noise on every machine.
  noise_ = at::randn(backbone.latents.batch_shape(cond_.size(0)), gen, at::kFloat).to(compute.device);
  cond_ = cond_.to(compute.device);
  if (backbone.images) {
    std::vector<std::int64_t> rows;
    const std::int64_t shown = std::min<std::int64_t>(per, kGridPerCondition);
    for (std::size_t i = 0; i < held_out.size() && static_cast<std::int64_t>(i) < kGridConditions; ++i)
      for (std::int64_t j = 0; j < shown; ++j) {
        rows.push_back(static_cast<std::int64_t>(i) * per + j);
        grid_.conditions.push_back(held_out[i]);
      }
    grid_rows_ = at::tensor(rows, at::kLong);
    const at::Tensor probe = backbone.images(noise_.narrow(0, 0, 1));  // [1, H, W, C]
    grid_.height = probe.size(1);
    grid_.width = probe.size(2);
    grid_.channels = probe.size(3);
  }
  metrics_ = {{"reward", false}, {"reward_std", false}};
  metrics_.insert(metrics_.end(), reward.metrics.begin(), reward.metrics.end());
  metrics_.insert(metrics_.end(), backbone.metrics.begin(), backbone.metrics.end());
}

at::Tensor EvalSuite::sample(VelocityModel& model) const {
  at::NoGradGuard no_grad;
  const at::Tensor null_cond = at::full_like(cond_, backbone_.latents.null_condition);
  auto forward = [&](const at::Tensor& c) {
    return [&, c](const at::Tensor& x, double t) {
      AutocastRegion region(compute_);
      return model.forward(x, t, c).to(x.scalar_type());
    };
  };
  VelocityFn v = guided_velocity(forward(cond_), forward(null_cond), guidance_);
  return cached_rollout(v, noise_, Schedule::make(steps_, shift_)).x[0];
}

std::vector<std::uint8_t> EvalSuite::grid_pixels(const at::Tensor& samples) const {
  if (grid_.empty()) return {};
  const at::Tensor images =
      backbone_.images(samples.index_select(0, grid_rows_.to(samples.device()))).to(at::kByte).contiguous();
  const std::uint8_t* p = images.data_ptr<std::uint8_t>();
  return std::vector<std::uint8_t>(p, p + images.numel());
}

std::vector<double> EvalSuite::evaluate(VelocityModel& model, at::Tensor* samples) const {
  const at::Tensor x = sample(model);
  if (samples) *samples = x;
  at::NoGradGuard no_grad;
  const at::Tensor r = reward_.fn(x, cond_).to(at::kDouble);
  std::vector<double> out = {r.mean().item<double>(), r.numel() > 1 ? r.std().item<double>() : 0.0};
  for (const ScoreFn* score : {&reward_.score, &backbone_.score}) {
    if (!*score) continue;
    const std::vector<double> more = (*score)(x, cond_);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

std::vector<ColumnSpec> eval_columns(const std::vector<MetricColumn>& metrics) {
  std::vector<ColumnSpec> c = {{"step", true, false}, {"is_base", true, false}};
  for (const auto& m : metrics) c.push_back({m.name, false, m.lower_is_better});
  return c;
}

}  // namespace flowbp
