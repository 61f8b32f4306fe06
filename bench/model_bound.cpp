#include "model_bound.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>

#include "flowbp/clock.h"

namespace flowbp::bench {

ModelBound::ModelBound(VelocityModel& model, const LatentSpec& latents, std::int64_t batch, std::int64_t conditions,
                       const Compute& compute, std::uint64_t seed)
    : model_(model.clone()), compute_(compute) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  x_ = at::randn(latents.batch_shape(batch), gen, at::kFloat).to(compute.device);
  cond_ = at::randint(conditions, {batch}, gen, at::kLong).to(compute.device);
  model_->train();
}

at::Tensor ModelBound::forward(double t) {
  AutocastRegion region(compute_);  // as the harness's velocity does
  return model_->forward(x_, t, cond_).to(x_.scalar_type());
}

double ModelBound::forward_backward(const Schedule& schedule, int forwards) {
  const auto start = Clock::now();
  if (forwards > 0) {
    at::Tensor total;
    const int n = schedule.steps();
    for (int a = 0; a < forwards; ++a) {
      const at::Tensor v = forward(schedule.t[1 + a % n]).sum();
      total = total.defined() ? total + v : v;
    }
    total.backward();
  }
  return since(start);
}

BoundTiming ModelBound::time(const Schedule& schedule, const BoundWork& work, const BenchClock& clock) {
  BoundTiming out;
  const int n = schedule.steps();
  const auto wall0 = Clock::now();
  const double c0 = clock.now();
  double after_reuse_share = c0;
  {
    at::NoGradGuard no_grad;
    for (int i = n, done = 0; i >= 1; --i) {
      if (done++ == work.nograd_reuse) after_reuse_share = clock.now();
      forward(schedule.t[i]);
    }
  }
  const double c1 = clock.now();
  if (work.nograd_reuse >= n) after_reuse_share = c1;
  out.forward_nograd = since(wall0);
  const double nograd_all = c1 - c0, nograd_reuse = after_reuse_share - c0;

  out.forward_backward = forward_backward(schedule, work.grad_classic);
  const double fb_classic = clock.now() - c1;
  double fb_reuse = fb_classic;
  if (work.grad_reuse != work.grad_classic) {  // only when the plan shares one forward between terms
    const double c2 = clock.now();
    forward_backward(schedule, work.grad_reuse);
    fb_reuse = clock.now() - c2;
  }
  out.classic = nograd_all + fb_classic;
  out.reuse = nograd_reuse + fb_reuse;
  return out;
}

}  // namespace flowbp::bench
