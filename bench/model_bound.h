// The model-only lower bound of a training iteration (HARNESS "Time"): N no-grad
// forwards plus |A| forwards and one backward through them, of the same velocity
// model at the same batch, with nothing of the harness around them.
#pragma once
#include <ATen/ATen.h>

#include "flowbp/schedule.h"
#include "toy_backbone.h"

namespace flowbp::bench {

struct BoundTiming {
  double forward_nograd = 0;    // the N forwards a cached rollout needs
  double forward_backward = 0;  // the |A| re-forwards with gradient and their backward
  double total() const { return forward_nograd + forward_backward; }
};

class ModelBound {
 public:
  // A model of the same architecture and size (its own weights, so timing it
  // leaves the trained model and its optimizer alone).
  ModelBound(const ToyConfig& backbone, std::int64_t batch, std::uint64_t seed);
  BoundTiming time(const Schedule& schedule, int active_forwards);

 private:
  ToyVelocityNet net_;
  at::Tensor x_, cond_;
};

}  // namespace flowbp::bench
