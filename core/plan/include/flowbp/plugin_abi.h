// The binary contract between flowbp and a method plugin (a shared module). A plugin
// exports one C function, flowbp_plugin_query(), returning a plain C struct: the loader
// reads the ABI version and the compiler/standard-library tag from it before any C++
// type crosses the boundary, and only then calls the factory.
//
// tests/core/plugin_abi.pin holds a hash of the interface headers (this one, method.h,
// plan.h, settings.h, schedule.h, samplers.h): changing them without bumping
// FLOWBP_PLUGIN_ABI_VERSION fails a test.
#pragma once
#include <cstdint>

#include "flowbp/method.h"

// Bump whenever Method, Plan, SettingSpec, Preset or anything they hold changes layout
// or meaning.
#define FLOWBP_PLUGIN_ABI_VERSION 4

#define FLOWBP_STRINGIFY_(x) #x
#define FLOWBP_STRINGIFY(x) FLOWBP_STRINGIFY_(x)

// What must agree between flowbp and a plugin for C++ types (std::string, std::vector,
// vtables) to cross the boundary: the standard library and its ABI, the C++ ABI and the
// pointer size, as "key=value;…". The compiler is recorded for messages only (GCC and
// Clang share the Itanium C++ ABI on Linux).
#if defined(_LIBCPP_VERSION)
#define FLOWBP_ABI_STDLIB "stdlib=libc++;libcxx_abi=" FLOWBP_STRINGIFY(_LIBCPP_ABI_VERSION)
#elif defined(__GLIBCXX__)
#define FLOWBP_ABI_STDLIB "stdlib=libstdc++;cxx11_abi=" FLOWBP_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#else
#define FLOWBP_ABI_STDLIB "stdlib=unknown"
#endif
#if defined(__GXX_ABI_VERSION)
#define FLOWBP_ABI_CXXABI "cxxabi=itanium"
#else
#define FLOWBP_ABI_CXXABI "cxxabi=unknown"
#endif
#if defined(__clang__)
#define FLOWBP_ABI_COMPILER "compiler=clang-" FLOWBP_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define FLOWBP_ABI_COMPILER "compiler=gcc-" FLOWBP_STRINGIFY(__GNUC__)
#else
#define FLOWBP_ABI_COMPILER "compiler=unknown"
#endif
#define FLOWBP_ABI_TAG \
  FLOWBP_ABI_STDLIB ";" FLOWBP_ABI_CXXABI ";pointer_bytes=" FLOWBP_STRINGIFY(__SIZEOF_POINTER__) ";" FLOWBP_ABI_COMPILER

extern "C" {

// Plain C: its layout does not depend on the C++ standard library.
struct FlowbpPluginInfo {
  std::uint32_t abi_version;  // FLOWBP_PLUGIN_ABI_VERSION the plugin was built with
  std::uint32_t struct_size;  // sizeof(FlowbpPluginInfo) as the plugin saw it
  const char* plugin_name;    // the method's registry name, e.g. "leapalign"
  const char* plugin_version; // the plugin's own version, e.g. "1.0.0"
  const char* abi_tag;        // FLOWBP_ABI_TAG as the plugin was compiled
  const ::flowbp::Method* (*factory)(void);  // called only once everything above matched
};

}  // extern "C"

#define FLOWBP_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

// One line at the end of a plugin's source registers its Method subclass:
//   FLOWBP_REGISTER_METHOD(MyMethod, "my-method", "1.0.0")
// The name must be the one MyMethod::info() returns.
#define FLOWBP_REGISTER_METHOD(MethodClass, name, version)                                    \
  namespace {                                                                                 \
  const ::flowbp::Method* flowbp_plugin_factory() {                                           \
    static const MethodClass instance;                                                        \
    return &instance;                                                                         \
  }                                                                                           \
  }                                                                                           \
  FLOWBP_PLUGIN_EXPORT const FlowbpPluginInfo* flowbp_plugin_query() {                        \
    static const FlowbpPluginInfo info = {FLOWBP_PLUGIN_ABI_VERSION, sizeof(FlowbpPluginInfo), \
                                          name, version, FLOWBP_ABI_TAG, &flowbp_plugin_factory}; \
    return &info;                                                                             \
  }
