#include "model_bound.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <vector>

#include "flowbp/clock.h"

namespace flowbp::bench {

namespace {
}  // namespace

ModelBound::ModelBound(const ToyConfig& backbone, std::int64_t batch, std::uint64_t seed)
    : net_(make_velocity_net(backbone)) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  x_ = at::randn({batch, backbone.dim}, gen, at::kFloat);
  cond_ = at::randint(backbone.classes, {batch}, gen, at::kLong);
}

BoundTiming ModelBound::time(const Schedule& schedule, int active_forwards) {
  BoundTiming out;
  const int n = schedule.steps();
  const auto t0 = Clock::now();
  {
    at::NoGradGuard no_grad;
    for (int i = n; i >= 1; --i) net_->forward(x_, schedule.t[i], cond_);
  }
  out.forward_nograd = since(t0);

  const auto t1 = Clock::now();
  if (active_forwards > 0) {
    at::Tensor total;
    for (int a = 0; a < active_forwards; ++a) {
      const at::Tensor v = net_->forward(x_, schedule.t[1 + a % n], cond_).sum();
      total = total.defined() ? total + v : v;
    }
    total.backward();
  }
  out.forward_backward = since(t1);
  return out;
}

}  // namespace flowbp::bench
