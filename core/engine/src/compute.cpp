#include "flowbp/compute.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "flowbp/memory.h"

#include <stdexcept>

#ifdef FLOWBP_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace flowbp {

bool built_with_cuda() {
#ifdef FLOWBP_WITH_CUDA
  return true;
#else
  return false;
#endif
}

c10::Device resolve_device(const std::string& name, int local_rank) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) != 0)
    throw std::invalid_argument("'" + name + "' is not a device: expected \"cpu\", \"cuda\" or \"cuda:<index>\"");
#ifdef FLOWBP_WITH_CUDA
  const int count = static_cast<int>(c10::cuda::device_count());
  const int index = name == "cuda" ? local_rank : std::stoi(name.substr(5));
  if (count == 0) throw std::invalid_argument("'" + name + "': this flowbp has CUDA but sees no GPU");
  if (index >= count)
    throw std::invalid_argument("'" + name + "' (local rank " + std::to_string(local_rank) +
                      "): GPU " + std::to_string(index) + " does not exist; " + std::to_string(count) + " visible");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
#else
  (void)local_rank;
  throw std::invalid_argument("'" + name +
                              "': this flowbp was built without CUDA (Debian's LibTorch is CPU-only); rebuild against a "
                    "CUDA LibTorch with meson setup -Dtorch_prefix=... (docs/CUDA.md), or use \"cpu\"");
#endif
}

Compute make_compute(const std::string& device_name, int local_rank, bool bf16_autocast, bool tf32) {
  Compute c;
  c.device = resolve_device(device_name, local_rank);
  c.bf16_autocast = bf16_autocast;
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
#ifdef FLOWBP_WITH_CUDA
  if (c.device.is_cuda()) c10::cuda::set_device(c.device.index());
#endif
  return c;
}

void synchronize(const c10::Device& device) {
#ifdef FLOWBP_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

namespace {

// LibTorch 2.4 replaced the per-device autocast functions (then deprecated) with
// ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
void set_autocast(bool cuda, bool on) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
}
#else
bool autocast_enabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void set_autocast(bool cuda, bool on) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(on);
  }
}
#endif

}  // namespace

AutocastRegion::AutocastRegion(const Compute& compute)
    : active_(compute.bf16_autocast), cuda_(compute.device.is_cuda()) {
  if (!active_) return;
  was_enabled_ = autocast_enabled(cuda_);
  set_autocast(cuda_, true);
  at::autocast::increment_nesting();
}

AutocastRegion::~AutocastRegion() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(cuda_, was_enabled_);
}

MemoryProbe::MemoryProbe(const c10::Device& device) : device_(device) {}

#ifdef FLOWBP_WITH_CUDA
namespace {
struct Allocated {
  std::int64_t current = 0, peak = 0;
};
// Element 0 of allocated_bytes is StatType::AGGREGATE (the enum moved between
// LibTorch versions; the layout did not).
Allocated allocated(c10::DeviceIndex index) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
  return {stats.allocated_bytes[0].current, stats.allocated_bytes[0].peak};
}
}  // namespace
#endif

void MemoryProbe::start() {
#ifdef FLOWBP_WITH_CUDA
  if (device_.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device_.index());
    baseline_ = allocated(device_.index()).current;
    return;
  }
#endif
  baseline_ = memory::current_bytes();
  memory::reset_peak();
}

std::int64_t MemoryProbe::peak_growth() const {
#ifdef FLOWBP_WITH_CUDA
  if (device_.is_cuda()) return allocated(device_.index()).peak - baseline_;
#endif
  return memory::peak_bytes() - baseline_;
}

}  // namespace flowbp
