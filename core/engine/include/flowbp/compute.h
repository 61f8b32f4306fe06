// Where and how the velocity model computes: the device (CPU or a CUDA GPU in a
// CUDA build), bf16 autocast around velocity forwards, TF32, and peak memory from
// the allocator that serves the device (docs/CUDA.md).
#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace flowbp {

struct Compute {
  c10::Device device = c10::Device(c10::kCPU);
  bool bf16_autocast = false;
};

// True when this flowbp links a CUDA LibTorch (built with FLOWBP_WITH_CUDA).
bool built_with_cuda();

// A device by name: "cpu", "cuda" (cuda:<local_rank>, so data-parallel ranks on one
// node take one GPU each) or "cuda:<i>". Throws std::invalid_argument, saying why,
// when CUDA is not built in or the GPU does not exist.
c10::Device resolve_device(const std::string& name, int local_rank);

// The compute of a run: its device (resolve_device; made current on a GPU), bf16
// autocast, and TF32 in cuBLAS and cuDNN allowed or not, process-wide (no effect on
// the CPU). Throws std::invalid_argument as resolve_device does.
Compute make_compute(const std::string& device_name, int local_rank, bool bf16_autocast, bool tf32);

// Waits for the device's queued work (nothing to wait for on the CPU): timers of GPU
// work read the clock after it.
void synchronize(const c10::Device& device);

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
