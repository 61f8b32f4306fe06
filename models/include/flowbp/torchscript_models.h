// Bring-your-own models: TorchScript velocity and reward modules, loaded with
// torch::jit::load and probed with a batch of 2 before any training (docs/TORCHSCRIPT.md).
//   velocity: forward(x: Tensor[B, *latent_shape], t: Tensor[B] float, cond: Tensor[B] int64) -> like x
//   reward:   forward(x: Tensor[B, *latent_shape], cond: Tensor[B] int64) -> Tensor[B]
// The backbone kind "torchscript" and the reward kind "torchscript" use these.
#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowbp/backbone.h"

namespace flowbp {

// What a probe batch looks like.
struct ScriptProbe {
  std::vector<std::int64_t> latent_shape;  // one sample
  std::int64_t conditions = 1;             // ids 0..conditions-1 are probed (first and last)
  std::int64_t null_condition = -1;        // probed too when >= 0
  c10::Device device = c10::Device(c10::kCPU);
};

// Both throw ConfigError "<key>: <path>: <problem>": a missing file, not TorchScript, no
// forward or another signature, a forward that fails on the probe batch (its own message
// kept), outputs of the wrong shape or type (expected vs got), a velocity module
// without trainable parameters, a reward that is not differentiable in x.
std::shared_ptr<VelocityModel> load_scripted_velocity(const std::string& key, const std::string& path,
                                                      const ScriptProbe& probe);
RewardFn load_scripted_reward(const std::string& key, const std::string& path, const ScriptProbe& probe);

}  // namespace flowbp
