#include "flowbp/compute_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace flowbp {

bool set_compute_threads(int threads) {
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
