#include "flowbp/blas_kernel.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace flowbp {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool one_of(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

// The library a symbol of the process resolves to, by the file that defines it; the
// handle (RTLD_NOLOAD: it is loaded already) searches that file and its dependencies,
// so Debian's libblas.so.3 of BLIS still finds libblis's own bli_* functions.
void* library_of(const char* symbol, std::string& path) {
  void* address = ::dlsym(RTLD_DEFAULT, symbol);
  Dl_info info{};
  if (!address || !::dladdr(address, &info) || !info.dli_fname) return nullptr;
  // The file behind Debian's alternatives links, e.g. .../openblas-pthread/libblas.so.3.
  char* resolved = ::realpath(info.dli_fname, nullptr);
  path = resolved ? resolved : info.dli_fname;
  std::free(resolved);
  return ::dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
}

template <typename F>
F symbol_in(void* handle, const char* name) {
  return handle ? reinterpret_cast<F>(::dlsym(handle, name)) : nullptr;
}

// "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64" → "0.3.21".
std::string second_word(const char* config) {
  std::istringstream in(config ? config : "");
  std::string first, second;
  in >> first >> second;
  return second;
}

// BLIS's version and the architecture it picked, through its own functions.
bool query_blis(void* handle, BlasInfo& info) {
  auto version = symbol_in<const char* (*)()>(handle, "bli_info_get_version_str");
  if (!version) return false;
  info.version = version();
  auto query = symbol_in<int (*)()>(handle, "bli_arch_query_id");
  auto name = symbol_in<const char* (*)(int)>(handle, "bli_arch_string");
  if (query && name) info.kernel = name(query());
  return true;
}

// Debian's BLIS libblas.so.3 exports the BLAS names only; libblis.so.4 beside it has the
// bli_* functions (loaded privately: it detects the CPU as the served copy does).
void* sibling_blis(const std::string& path) {
  if (path.find("blis") == std::string::npos) return nullptr;
  const std::string dir = path.substr(0, path.find_last_of('/') + 1);
  return ::dlopen((dir + "libblis.so.4").c_str(), RTLD_LAZY | RTLD_LOCAL);
}

// "/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3.10.3" → "3.10.3".
std::string so_version(const std::string& path) {
  const auto at = path.find(".so.");
  return at == std::string::npos ? std::string() : path.substr(at + 4);
}

}  // namespace

std::string BlasInfo::line() const {
  std::string out = library.empty() ? "unknown" : library;
  if (!version.empty()) out += " " + version;
  out += ", kernel " + (kernel.empty() ? std::string("unknown") : kernel);
  return out;
}

BlasInfo probe_blas() {
  BlasInfo info;
  void* handle = library_of("sgemm_", info.path);
  if (info.path.empty()) {
    info.library = "none found";
  } else if (auto config = symbol_in<const char* (*)()>(handle, "openblas_get_config")) {
    info.library = "OpenBLAS";
    info.version = second_word(config());
    if (auto core = symbol_in<const char* (*)()>(handle, "openblas_get_corename")) info.kernel = core();
  } else if (query_blis(handle, info) || query_blis(sibling_blis(info.path), info)) {
    info.library = "BLIS";
  } else if (symbol_in<void (*)()>(handle, "atl_f77wrap_sgemm_")) {
    info.library = "ATLAS";  // Debian's libatlas3-base: built for the baseline ISA
    info.version = so_version(info.path);
    info.kernel = "generic";
  } else if (info.path.find("/blas/") != std::string::npos) {
    info.library = "reference BLAS";  // Debian's libblas3: plain Fortran loops
    info.kernel = "generic";
  } else {
    info.library = info.path.substr(info.path.find_last_of('/') + 1);
  }
  if (const char* forced = std::getenv("FLOWBP_BLAS_KERNEL_OVERRIDE"); forced && *forced) info.kernel = forced;
  return info;
}

CpuFeatures cpu_features() {
  CpuFeatures cpu;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  cpu.avx2 = __builtin_cpu_supports("avx2");
  cpu.avx512 = __builtin_cpu_supports("avx512f");
#endif
  return cpu;
}

std::string to_string(const CpuFeatures& cpu) {
  return cpu.avx512 ? "AVX-512" : cpu.avx2 ? "AVX2" : "no AVX2";
}

KernelLevel kernel_level(const BlasInfo& blas) {
  const std::string k = lower(blas.kernel);
  if (k.empty() || k == "unknown") return KernelLevel::Unknown;
  if (blas.library == "OpenBLAS") {
    if (one_of(k, {"skylakex", "cooperlake", "sapphirerapids"})) return KernelLevel::Avx512;
    if (one_of(k, {"haswell", "zen", "excavator"})) return KernelLevel::Avx2;
    if (one_of(k, {"sandybridge", "bulldozer", "piledriver", "steamroller"})) return KernelLevel::Avx;
    return KernelLevel::Generic;  // Prescott, Core2, Nehalem, Atom, Opteron, Barcelona, ...
  }
  if (blas.library == "BLIS") {
    if (one_of(k, {"skx", "knl", "zen4", "zen5"})) return KernelLevel::Avx512;
    if (one_of(k, {"haswell", "zen", "zen2", "zen3", "excavator"})) return KernelLevel::Avx2;
    if (one_of(k, {"sandybridge", "bulldozer", "piledriver", "steamroller"})) return KernelLevel::Avx;
    if (one_of(k, {"generic", "penryn"})) return KernelLevel::Generic;
    return KernelLevel::Unknown;
  }
  return k == "generic" ? KernelLevel::Generic : KernelLevel::Unknown;
}

BlasAdvice advise_blas(const BlasInfo& blas, const CpuFeatures& cpu) {
  BlasAdvice advice;
  if (!cpu.avx2 || kernel_level(blas) != KernelLevel::Generic) return advice;
  const std::string kernel = blas.kernel == "generic" ? "a generic kernel" : "its generic " + blas.kernel + " kernel";
  const std::string runs = blas.library + " runs " + kernel + " on a CPU with " + to_string(cpu) +
                           " (its GEMMs are several times slower)";
  if (blas.library == "OpenBLAS") {
    advice.action = BlasAdvice::Action::SetCoretype;
    advice.env_name = "OPENBLAS_CORETYPE";
    advice.env_value = cpu.avx512 ? "SkylakeX" : "Haswell";
    advice.message = runs + "; fix: OPENBLAS_CORETYPE=" + advice.env_value + " in the environment";
  } else if (blas.library == "reference BLAS") {
    advice.action = BlasAdvice::Action::Warn;
    advice.message = runs + "; fix: apt-get install libopenblas0-pthread (scripts/install-deps.sh)";
  } else {
    advice.action = BlasAdvice::Action::Warn;
    advice.message = runs + "; fix: a build of " + blas.library +
                     " for this CPU, or OpenBLAS (libopenblas0-pthread, the documented default)";
  }
  return advice;
}

void fix_blas_kernel(char** argv) {
  const BlasAdvice advice = advise_blas(probe_blas(), cpu_features());
  if (advice.action == BlasAdvice::Action::None) return;
  const char* restarted = std::getenv("FLOWBP_BLAS_RESTARTED");
  const char* fix = std::getenv("FLOWBP_BLAS_FIX");
  const bool may_restart = !(restarted && *restarted) && !(fix && std::strcmp(fix, "0") == 0);
  if (advice.action == BlasAdvice::Action::SetCoretype && may_restart) {
    std::fprintf(stderr, "flowbp: %s; restarting with %s=%s\n", advice.message.c_str(), advice.env_name.c_str(),
                 advice.env_value.c_str());
    std::fflush(nullptr);
    ::setenv(advice.env_name.c_str(), advice.env_value.c_str(), 1);
    ::setenv("FLOWBP_BLAS_RESTARTED", "1", 1);
    ::execv("/proc/self/exe", argv);
    std::fprintf(stderr, "flowbp: could not restart (%s); continuing with the slow kernel\n", std::strerror(errno));
    return;
  }
  if (restarted && *restarted && !advice.env_name.empty())
    std::fprintf(stderr, "flowbp: warning: %s; %s=%s did not take effect\n", advice.message.c_str(),
                 advice.env_name.c_str(), advice.env_value.c_str());
  else
    std::fprintf(stderr, "flowbp: warning: %s\n", advice.message.c_str());
}

}  // namespace flowbp
