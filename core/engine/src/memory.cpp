#include "flowbp/memory.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace flowbp::memory {

namespace {

std::atomic<std::int64_t> g_current{0};
std::atomic<std::int64_t> g_peak{0};

void add_bytes(std::int64_t n) {
  const std::int64_t now = g_current.fetch_add(n) + n;
  std::int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

struct Allocation {
  c10::DataPtr inner;
  std::int64_t bytes;
};

// Context == data pointer, as raw_allocate() requires (oneDNN's bf16 kernels, used
// by CPU autocast, allocate that way): the sizes live in a table keyed by pointer.
std::mutex g_table_mutex;
std::unordered_map<void*, Allocation>& table() {
  static auto* t = new std::unordered_map<void*, Allocation>();  // never destroyed: frees may come late
  return *t;
}

void release(void* data) {
  Allocation a;
  {
    std::lock_guard<std::mutex> lock(g_table_mutex);
    auto it = table().find(data);
    if (it == table().end()) return;
    a = std::move(it->second);
    table().erase(it);
  }
  g_current.fetch_sub(a.bytes);
}  // a.inner frees the memory outside the lock

class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* base) : base_(base) {}
  c10::DataPtr allocate(size_t n) const override {
    c10::DataPtr inner = base_->allocate(n);
    void* data = inner.get();
    if (!data) return inner;  // zero bytes: nothing to count
    {
      std::lock_guard<std::mutex> lock(g_table_mutex);
      table().emplace(data, Allocation{std::move(inner), static_cast<std::int64_t>(n)});
    }
    add_bytes(static_cast<std::int64_t>(n));
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

 private:
  c10::Allocator* base_;
};

std::once_flag g_once;
std::atomic<bool> g_installed{false};

}  // namespace

void install_counting_allocator() {
  std::call_once(g_once, [] {
    static CountingAllocator counter(c10::GetCPUAllocator());
    c10::SetCPUAllocator(&counter, /*priority=*/100);
    g_installed = true;
  });
}

bool counting_installed() { return g_installed; }
std::int64_t current_bytes() { return g_current.load(); }
std::int64_t peak_bytes() { return g_peak.load(); }
void reset_peak() { g_peak.store(g_current.load()); }

}  // namespace flowbp::memory
