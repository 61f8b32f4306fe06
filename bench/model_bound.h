// The model-only lower bound of a training iteration (HARNESS "Time"): the velocity
// model's own forwards and backward, with nothing of the harness around them, on a
// copy of the run's model at the same batch and device. Two bounds from one pass:
//  classic: N no-grad forwards + |A| forwards with gradient and one backward;
//  reuse:   (N − R) no-grad forwards + G forwards with gradient and one backward, where
//           R rollout steps run with gradient and G = R + the surrogate's re-forwards.
#pragma once
#include <ATen/ATen.h>

#include <memory>

#include "bench_clock.h"
#include "flowbp/backbone.h"
#include "flowbp/compute.h"
#include "flowbp/schedule.h"
#include "flowbp/velocity_model.h"

namespace flowbp::bench {

struct BoundWork {
  int nograd_reuse = 0;  // N − R
  int grad_classic = 0;  // |A|
  int grad_reuse = 0;    // G
};

struct BoundTiming {
  double forward_nograd = 0, forward_backward = 0;  // wall seconds of the classic bound's parts
  double classic = 0, reuse = 0;                    // the two bounds on the bench clock
};

class ModelBound {
 public:
  // A copy of `model` (its own weights, so timing it leaves the trained model and its
  // optimizer alone) on `compute`'s device, fed random latents and conditions.
  ModelBound(VelocityModel& model, const LatentSpec& latents, std::int64_t batch, std::int64_t conditions,
             const Compute& compute, std::uint64_t seed);
  BoundTiming time(const Schedule& schedule, const BoundWork& work, const BenchClock& clock);

 private:
  at::Tensor forward(double t);
  double forward_backward(const Schedule& schedule, int forwards);
  std::shared_ptr<VelocityModel> model_;
  Compute compute_;
  at::Tensor x_, cond_;
};

}  // namespace flowbp::bench
