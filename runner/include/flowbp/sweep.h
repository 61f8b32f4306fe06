// A sweep: a base experiment plus axes over dotted keys, expanded into runs
// (docs/SWEEPS.md). Parsing and expansion check the sweep's own structure;
// resolve_sweep() then validates every run with load_experiment before any starts.
#pragma once
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowbp/experiment.h"
#include "flowbp/catalog.h"

namespace flowbp {

// A bad sweep file. The message lists every problem found, one per line, each
// starting "<file>:<line>:<col>: <key>: ".
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One key = value that a sweep sets, with where it was written.
struct SweepSetting {
  std::string key;         // dotted, e.g. "method.K"
  std::string value_text;  // TOML text of the value
  std::string origin;      // "<file>:<line>:<col>" of the value
  std::string key_origin;  // of the key's entry (an axis's whole list); for messages about the key
};

// One alternative of an axis: the settings it applies together.
using Variant = std::vector<SweepSetting>;

// A [[grid]], [[zip]] or [[list]] block, already turned into its alternatives.
struct SweepAxis {
  std::string kind;    // "grid", "zip" or "list"
  std::string origin;  // where the block starts
  std::vector<std::string> keys;  // the keys it sets, in file order
  std::vector<Variant> variants;
};

struct SweepSpec {
  std::string path;        // the sweep file, as given
  std::string name;        // `name = ...`, else the file's stem
  std::string description;
  std::string base_path;   // resolved relative to the sweep file
  std::vector<SweepSetting> set;                              // [set]
  std::vector<SweepAxis> axes;                                // in file order
  std::map<std::string, std::vector<SweepSetting>> method_overrides;  // method name -> method.* settings
};

// Reads and checks the sweep's structure (sections, types, axis shapes, keys of
// non-method sections against the experiment schema and the catalog's kinds). Throws
// SweepError.
SweepSpec parse_sweep_file(const std::string& path, const Catalog& catalog);
SweepSpec parse_sweep(const std::string& toml_text, const std::string& source_name, const Catalog& catalog);

// The cartesian product of the axes, in file order (later axes vary fastest).
std::vector<Variant> expand_axes(const SweepSpec& spec);

// One fully resolved, validated run.
struct SweepRun {
  std::string id;    // config_id of the resolved configuration
  std::string name;  // readable from the values that vary, plus the short id
  std::string method;
  std::string resolved_toml;
  int threads = 1;   // train.threads of the resolved configuration
  std::vector<Override> overrides;  // what was applied to the base, in order
  std::vector<std::pair<std::string, std::string>> varying;  // key -> value text, for names and listings
};

// Expands and validates every run (load_experiment with the catalog, which must hold
// the methods), checks for duplicates, and names them. All problems are collected into
// one SweepError.
std::vector<SweepRun> resolve_sweep(const SweepSpec& spec, const Catalog& catalog);

// "flowbp-lagrange_K4_seed2" from the varying values (no id); characters outside
// [A-Za-z0-9._+-] become '-'.
std::string readable_run_label(const std::string& method,
                               const std::vector<std::pair<std::string, std::string>>& varying);

}  // namespace flowbp
