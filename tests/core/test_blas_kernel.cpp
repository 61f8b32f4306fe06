// The BLAS kernel decision (a generic kernel on a CPU with AVX2/AVX-512 is fixed, or
// warned about with the fix) and the probe of this process's library.
#include <cstdlib>

#include "flowbp/blas_kernel.h"
#include <doctest.h>

using namespace flowbp;

namespace {

BlasInfo openblas(const std::string& kernel) { return {"OpenBLAS", "0.3.21", kernel, "/x/libopenblas.so.0"}; }

}  // namespace

TEST_CASE("BLAS kernel: OpenBLAS's generic kernel on AVX-512/AVX2 is fixed through OPENBLAS_CORETYPE") {
  const CpuFeatures avx512{true, true}, avx2{true, false}, sse{false, false};
  // The case measured on an AVX-512 Xeon (family 6, model 207): Prescott.
  BlasAdvice a = advise_blas(openblas("Prescott"), avx512);
  CHECK(a.action == BlasAdvice::Action::SetCoretype);
  CHECK(a.env_name == "OPENBLAS_CORETYPE");
  CHECK(a.env_value == "SkylakeX");
  CHECK(a.message.find("Prescott") != std::string::npos);
  CHECK(a.message.find("AVX-512") != std::string::npos);
  a = advise_blas(openblas("Core2"), avx2);
  CHECK(a.action == BlasAdvice::Action::SetCoretype);
  CHECK(a.env_value == "Haswell");
  a = advise_blas(openblas("Nehalem"), avx2);
  CHECK(a.env_value == "Haswell");
  // Kernels that fit, or a CPU with nothing better: nothing to do.
  for (const char* kernel : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "Sandybridge", "Unknown", ""})
    CHECK(advise_blas(openblas(kernel), avx512).action == BlasAdvice::Action::None);
  CHECK(advise_blas(openblas("Prescott"), sse).action == BlasAdvice::Action::None);
  // Libraries flowbp cannot steer: a warning naming the fix.
  a = advise_blas({"BLIS", "0.9.0", "generic", "/x/libblis.so.4"}, avx2);
  CHECK(a.action == BlasAdvice::Action::Warn);
  CHECK(a.message.find("OpenBLAS") != std::string::npos);
  CHECK(advise_blas({"BLIS", "0.9.0", "zen3", "/x/libblis.so.4"}, avx2).action == BlasAdvice::Action::None);
  a = advise_blas({"ATLAS", "3.10.3", "generic", "/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3.10.3"}, avx2);
  CHECK(a.action == BlasAdvice::Action::Warn);
  CHECK(a.message.find("ATLAS runs a generic kernel") != std::string::npos);
  a = advise_blas({"reference BLAS", "", "generic", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"}, avx512);
  CHECK(a.action == BlasAdvice::Action::Warn);
  CHECK(a.message.find("libopenblas0-pthread") != std::string::npos);
}

TEST_CASE("BLAS kernel: levels by library and the report line") {
  CHECK(kernel_level(openblas("SkylakeX")) == KernelLevel::Avx512);
  CHECK(kernel_level(openblas("cooperlake")) == KernelLevel::Avx512);
  CHECK(kernel_level(openblas("Haswell")) == KernelLevel::Avx2);
  CHECK(kernel_level(openblas("Zen")) == KernelLevel::Avx2);
  CHECK(kernel_level(openblas("Sandybridge")) == KernelLevel::Avx);
  CHECK(kernel_level(openblas("Prescott")) == KernelLevel::Generic);
  CHECK(kernel_level(openblas("")) == KernelLevel::Unknown);
  CHECK(kernel_level({"BLIS", "0.9.0", "skx", ""}) == KernelLevel::Avx512);
  CHECK(kernel_level({"BLIS", "0.9.0", "something-new", ""}) == KernelLevel::Unknown);
  CHECK(openblas("Haswell").line() == "OpenBLAS 0.3.21, kernel Haswell");
  CHECK(BlasInfo{"reference BLAS", "", "generic", "p"}.line() == "reference BLAS, kernel generic");
}

TEST_CASE("BLAS kernel: this process's library answers, and the override replaces its kernel") {
  const BlasInfo here = probe_blas();
  MESSAGE("BLAS: " << here.line() << " (" << here.path << "); CPU " << to_string(cpu_features()));
  CHECK_FALSE(here.path.empty());  // LibTorch resolves sgemm_ somewhere
  CHECK_FALSE(here.library.empty());
  ::setenv("FLOWBP_BLAS_KERNEL_OVERRIDE", "Prescott", 1);
  CHECK(probe_blas().kernel == "Prescott");
  ::unsetenv("FLOWBP_BLAS_KERNEL_OVERRIDE");
  CHECK(probe_blas().kernel == here.kernel);
}
