// An experiment: one run's fully resolved, validated configuration, loaded from
// TOML plus dotted-key overrides. The narrow interface the trainer, the sweep
// runner and the distributed launcher share.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "flowbp/params.h"
#include "flowbp/registry.h"

namespace flowbp {

// A user-facing configuration error: "<file>:<line>:<col>: <dotted.key>: <problem>"
// with a "did you mean" where one fits.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Override {
  std::string key;         // dotted key, e.g. "method.K"
  std::string value_text;  // TOML syntax of the value: 4, 0.3, "uniform", true (bare words read as strings)
  std::string origin;      // where it came from, for messages: "--set", "sweeps/x.toml:12"
};

// Parses "key=value" as given to --set.
Override parse_override(const std::string& text, const std::string& origin);

struct Experiment {
  std::string source_path;
  toml::table resolved;      // every section, every default filled, overrides applied
  std::string method;        // resolved.method.name
  ParamValues method_params; // resolved against the plugin's schema
};

// Loads, applies overrides, fills defaults and validates everything (sections, keys,
// types, ranges, the method's settings against its plugin schema) before any run.
Experiment load_experiment(const std::string& path, const std::vector<Override>& overrides,
                           const Registry& registry);

// Canonical TOML text of the resolved configuration (what a run's config.toml holds).
std::string resolved_toml(const Experiment& experiment);
// 12 hex digits: a hash of resolved_toml; equal configs give equal ids.
std::string config_id(const Experiment& experiment);

}  // namespace flowbp
