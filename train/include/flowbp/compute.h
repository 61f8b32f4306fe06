// Where and how the velocity model computes: the device (CPU or a CUDA GPU in a
// CUDA build), bf16 autocast around velocity forwards, TF32, and peak memory from
// the allocator that serves the device (docs/CUDA.md).
#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "flowbp/experiment.h"

namespace flowbp {

struct Compute {
  c10::Device device = c10::Device(c10::kCPU);
  bool bf16_autocast = false;
};

// True when this flowbp links a CUDA LibTorch (built with FLOWBP_WITH_CUDA).
bool built_with_cuda();

// The device of train.device: "cpu", "cuda" (cuda:<local_rank>, so data-parallel ranks
// on one node take one GPU each) or "cuda:<i>". Throws ConfigError before any training
// when CUDA is not built in or the GPU does not exist.
c10::Device resolve_device(const std::string& name, int local_rank);

// The run's compute settings; applies train.tf32 process-wide.
Compute configure_compute(const TrainConfig& train, int local_rank);

// An autocast region (bf16) on the compute's device type, as torch.autocast does it:
// nested regions share one cast cache, cleared when the outermost one ends.
class AutocastRegion {
 public:
  explicit AutocastRegion(const Compute& compute);
  ~AutocastRegion();
  AutocastRegion(const AutocastRegion&) = delete;
  AutocastRegion& operator=(const AutocastRegion&) = delete;

 private:
  bool active_ = false, cuda_ = false, was_enabled_ = false;
};

// Growth of allocated bytes over a phase: the counting CPU allocator on the CPU
// (flowbp/memory.h), the CUDA caching allocator's statistics on a GPU.
class MemoryProbe {
 public:
  explicit MemoryProbe(const c10::Device& device);
  void start();                     // baseline := current, peak := current
  std::int64_t peak_growth() const;  // peak − baseline

 private:
  c10::Device device_;
  std::int64_t baseline_ = 0;
};

}  // namespace flowbp
