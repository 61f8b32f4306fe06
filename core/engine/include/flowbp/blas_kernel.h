// Which BLAS serves LibTorch's GEMMs and which kernel it runs, and what to do when
// that kernel is below the CPU. Debian's OpenBLAS 0.3.21 does not recognise some newer
// CPUs and falls back to its Prescott (SSE3) kernel: GEMMs ran ~4x slower on an
// AVX-512 Xeon. OPENBLAS_CORETYPE fixes it, but OpenBLAS reads it when it loads, so a
// process must set it and start again (fix_blas_kernel) before doing any work.
#pragma once
#include <string>

namespace flowbp {

struct BlasInfo {
  std::string library;  // "OpenBLAS", "BLIS", "reference BLAS", or the file's name
  std::string version;  // "0.3.21"; "" when the library does not say
  std::string kernel;   // "Haswell", "SkylakeX", "zen3", "generic"; "" when unknown
  std::string path;     // the file that serves sgemm_
  // "OpenBLAS 0.3.21, kernel Haswell"
  std::string line() const;
};

// Asks the library in this process that serves sgemm_ (dladdr, then its own
// openblas_get_config/openblas_get_corename or bli_info_get_version_str/bli_arch_string).
// FLOWBP_BLAS_KERNEL_OVERRIDE, when set, replaces the reported kernel (tests only).
BlasInfo probe_blas();

struct CpuFeatures {
  bool avx2 = false;
  bool avx512 = false;  // AVX-512 F
};
CpuFeatures cpu_features();  // of this CPU (cpuid, with the OS's register support)
std::string to_string(const CpuFeatures& cpu);  // "AVX-512", "AVX2" or "no AVX2"

// The vector width a kernel uses, from its library's name for it.
enum class KernelLevel { Unknown, Generic, Avx, Avx2, Avx512 };
KernelLevel kernel_level(const BlasInfo& blas);

struct BlasAdvice {
  enum class Action {
    None,         // the kernel fits the CPU (or we cannot tell)
    SetCoretype,  // set env_name=env_value and start again
    Warn,         // nothing flowbp can set: message says what to do
  } action = Action::None;
  std::string env_name, env_value;  // OPENBLAS_CORETYPE, SkylakeX
  std::string message;              // what runs, on what CPU, and the fix
};

// The decision alone, from what the library reports and what the CPU has: a generic
// (pre-AVX) kernel on a CPU with AVX2 or AVX-512 is fixed through OPENBLAS_CORETYPE
// for OpenBLAS (SkylakeX on AVX-512, Haswell on AVX2), and warned about otherwise.
BlasAdvice advise_blas(const BlasInfo& blas, const CpuFeatures& cpu);

// Call first thing in main() of a process that computes (before it starts threads or
// children): when advise_blas says SetCoretype and this process has not already
// restarted (FLOWBP_BLAS_RESTARTED), sets the variable, notes it on stderr and execs
// /proc/self/exe with the same arguments — children inherit the variable. After a
// restart that did not help, or for Warn, it warns once on stderr and returns.
// FLOWBP_BLAS_FIX=0 turns the restart into the warning.
void fix_blas_kernel(char** argv);

}  // namespace flowbp
