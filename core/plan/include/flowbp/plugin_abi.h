// The binary contract between the core and a method plugin (a shared module).
// The loader reads flowbp_plugin_abi_version() before anything else and only
// then calls flowbp_plugin_entry().
#pragma once
#include "flowbp/method.h"

// Bump whenever Method, Plan, SettingSpec or anything they hold changes layout.
#define FLOWBP_PLUGIN_ABI_VERSION 2

#define FLOWBP_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

// One line in a plugin's source registers its Method subclass:
//   FLOWBP_REGISTER_METHOD(MyMethod)
#define FLOWBP_REGISTER_METHOD(MethodClass)                                   \
  FLOWBP_PLUGIN_EXPORT int flowbp_plugin_abi_version() {                      \
    return FLOWBP_PLUGIN_ABI_VERSION;                                         \
  }                                                                           \
  FLOWBP_PLUGIN_EXPORT const ::flowbp::Method* flowbp_plugin_entry() {        \
    static const MethodClass instance;                                        \
    return &instance;                                                         \
  }
