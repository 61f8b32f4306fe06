// The velocity model a run trains, whatever the backbone: the built-in toy MLP or
// a user's TorchScript module. The step, the EMA, checkpoints and the broadcast of
// initial weights see only this interface.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flowbp/toy_backbone.h"

namespace flowbp {

class VelocityModel {
 public:
  virtual ~VelocityModel();
  // v(x, t, c) with one time t for the whole batch; cond is int64 [B].
  virtual at::Tensor forward(const at::Tensor& x, double t, const at::Tensor& cond) = 0;
  // The trainable parameters, in a fixed order (the optimizer's and the all-reduce's).
  virtual std::vector<at::Tensor> parameters() = 0;
  // Parameters then buffers, by name, in a fixed order: checkpoints, copies, broadcasts.
  virtual std::vector<std::pair<std::string, at::Tensor>> named_tensors() = 0;
  // An independent copy with its own storage (the EMA model).
  virtual std::shared_ptr<VelocityModel> clone() = 0;
  virtual void train() = 0;
  virtual void eval() = 0;
  virtual void to(const c10::Device& device) = 0;
};

// The toy MLP behind the interface; `config` rebuilds it for clone().
std::shared_ptr<VelocityModel> wrap_toy(ToyVelocityNet net, const BackboneConfig& config);
// The toy MLP inside a model from wrap_toy; throws std::logic_error for another kind.
ToyVelocityNet& toy_net(VelocityModel& model);

// dst's tensors := src's (same architecture; names must match).
void copy_tensors(VelocityModel& dst, VelocityModel& src);

}  // namespace flowbp
