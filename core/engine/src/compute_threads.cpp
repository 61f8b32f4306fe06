#include "flowbp/compute_threads.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>
#include <string>

namespace flowbp {

void set_flush_denormal(bool on) { at::globalContext().setFlushDenormal(on); }

bool flush_denormal_active() {
  volatile float tiny = 1e-40f;  // subnormal; volatile keeps the product at run time
  volatile float one = 1.0f;
  const float product = tiny * one;
  return product == 0.0f;
}

bool keep_freed_memory() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::string(tunables).find("glibc.malloc.") != std::string::npos) return false;
  // 32 MiB is glibc's largest mmap threshold on 64-bit; setting it also stops the
  // threshold from moving.
  return ::mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && ::mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
}

bool set_compute_threads(int threads) {
  keep_freed_memory();
  // Before the thread pools exist: their threads inherit it. FLOWBP_FLUSH_DENORMAL=0
  // keeps subnormals (to measure what flushing them changes).
  const char* flush = std::getenv("FLOWBP_FLUSH_DENORMAL");
  set_flush_denormal(!(flush && std::string(flush) == "0"));
  at::set_num_threads(threads);
  const std::string n = std::to_string(threads);
  ::setenv("OPENBLAS_NUM_THREADS", n.c_str(), 1);
  ::setenv("OMP_NUM_THREADS", n.c_str(), 1);
  using SetThreads = void (*)(int);
  auto* set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!set) return false;
  set(threads);
  return true;
}

}  // namespace flowbp
