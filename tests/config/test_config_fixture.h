// Shared by the config tests: the real method plugins this build produced, and
// experiment files written to a fresh temporary directory.
#pragma once
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "flowbp/experiment.h"
#include "flowbp/reward.h"

#ifndef FLOWBP_TEST_PLUGINS
#define FLOWBP_TEST_PLUGINS ""
#endif
#ifndef FLOWBP_SOURCE_ROOT
#define FLOWBP_SOURCE_ROOT "."
#endif

namespace config_test {

// Every plugin the build produced (plugins may still be missing while they are written:
// tests that need a method skip their method assertions only when none loaded).
inline const flowbp::Registry& registry() {
  static const flowbp::Registry loaded = [] {
    flowbp::Registry r;
    std::stringstream paths(FLOWBP_TEST_PLUGINS);
    std::string path;
    while (std::getline(paths, path, ':'))
      if (!path.empty()) r.load_file(path);
    return r;
  }();
  return loaded;
}

inline bool have(const std::string& method) { return registry().has(method); }

// The real backbone and reward kinds with the plugins above.
inline const flowbp::Catalog& catalog() {
  static const flowbp::Catalog all = flowbp::model_catalog(&registry());
  return all;
}

// The same kinds, method settings unchecked.
inline const flowbp::Catalog& catalog_without_methods() {
  static const flowbp::Catalog all = flowbp::model_catalog(nullptr);
  return all;
}

inline std::string temp_dir() {
  static const std::string dir = [] {
    char templ[] = "/tmp/flowbp-config-test-XXXXXX";
    const char* made = ::mkdtemp(templ);
    return std::string(made ? made : "/tmp");
  }();
  return dir;
}

inline std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Parses text with the real plugins when the default method is loaded, else without
// the method check (so everything but the method is still asserted).
inline flowbp::Experiment parse(const std::string& text, const std::vector<flowbp::Override>& overrides = {}) {
  if (have("flowbp-lagrange")) return flowbp::parse_experiment(text, "exp.toml", overrides, catalog());
  return flowbp::parse_experiment(text, "exp.toml", overrides, catalog_without_methods());
}

// The message of the ConfigError that parsing text throws ("" when none is thrown).
inline std::string error_of(const std::string& text, const std::vector<flowbp::Override>& overrides = {}) {
  try {
    flowbp::parse_experiment(text, "exp.toml", overrides, catalog());
  } catch (const flowbp::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace config_test
