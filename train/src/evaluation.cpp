#include "flowbp/evaluation.h"

#include <ATen/CPUGeneratorImpl.h>

#include "flowbp/rollout.h"
#include "flowbp/velocity.h"

namespace flowbp {

EvalSuite::EvalSuite(const Experiment& experiment, const GaussianMixture& mixture,
                     const ModePreferenceReward& reward)
    : mixture_(mixture),
      evaluator_(mixture, reward),
      steps_(static_cast<int>(experiment.eval.steps)),
      shift_(experiment.sampling.shift),
      guidance_(experiment.sampling.guidance) {
  const std::vector<std::int64_t>& held_out = experiment.eval.held_out_conditions;
  const int64_t per = experiment.eval.samples_per_condition;
  cond_ = at::tensor(held_out, at::kLong).repeat_interleave(per);
  at::Generator gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(experiment.eval.noise_seed));
  noise_ = at::randn({cond_.size(0), mixture.dim}, gen, at::kFloat);
}

at::Tensor EvalSuite::sample(ToyVelocityNet& net) const {
  at::NoGradGuard no_grad;
  const at::Tensor null_cond = at::full_like(cond_, mixture_.null_condition());
  VelocityFn v = guided_velocity([&](const at::Tensor& x, double t) { return net->forward(x, t, cond_); },
                                 [&](const at::Tensor& x, double t) { return net->forward(x, t, null_cond); },
                                 guidance_);
  return cached_rollout(v, noise_, Schedule::make(steps_, shift_)).x[0];
}

std::vector<double> EvalSuite::evaluate(ToyVelocityNet& net) const {
  return evaluator_.score(sample(net), cond_);
}

std::vector<ColumnSpec> eval_columns() {
  std::vector<ColumnSpec> c = {{"step", true, false}, {"is_base", true, false}};
  for (const auto& m : eval_metric_columns()) c.push_back({m.name, false, m.lower_is_better});
  return c;
}

}  // namespace flowbp
