// The velocity model a run trains, whatever the backbone kind (the toy MLP, a DiT,
// a user's TorchScript module). The step, the EMA, checkpoints and the broadcast of
// initial weights see only this interface.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

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

// dst's tensors := src's (same architecture; names must match).
void copy_tensors(VelocityModel& dst, VelocityModel& src);

}  // namespace flowbp
