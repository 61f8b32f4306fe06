// Bring-your-own backbone: TorchScript velocity and reward modules, loaded with
// torch::jit::load and probed with a batch of 2 before any training.
//   velocity: forward(x: Tensor[B, *latent_shape], t: Tensor[B] float, cond: Tensor[B] int64) -> like x
//   reward:   forward(x: Tensor[B, *latent_shape], cond: Tensor[B] int64) -> Tensor[B]
#pragma once
#include <c10/core/Device.h>

#include <memory>

#include "flowbp/backbone.h"

namespace flowbp {

struct ScriptedModels {
  std::shared_ptr<VelocityModel> velocity;  // trains the module's own parameters
  RewardFn reward;
};

// Throws ConfigError naming the key and the file: missing, not TorchScript, no forward
// or another signature, a forward that fails on the probe batch, or outputs of the
// wrong shape or type (expected vs got).
ScriptedModels load_torchscript_models(const BackboneConfig& config, const c10::Device& device);

}  // namespace flowbp
