// The paper's tables as data: runs grouped by method, swept setting and backbone,
// the method x metric table (Table 2: mean, 95% CI over seeds, gain over the base
// model of the row's own backbone, best marked) and the ablation tables (Table 4:
// gain of each value of a swept setting over its baseline value, with a 95% CI).
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "run_record.h"
#include "stats.h"

namespace flowbp::analysis {

using Setting = std::vector<std::pair<std::string, ConfigValue>>;  // dotted key -> value, sorted by key

std::string setting_text(const Setting& setting);  // "method.K=4, train.lr=0.001"

// Config keys never treated as a swept setting: train.seed (seeds are what the
// interval is over), method.name (rows are per method already), and places on disk.
bool is_ignored_key(const std::string& key, const std::set<std::string>& extra_ignored);

// The base model a run starts from: every /config key `backbone.*` (its kind and the
// kind's settings; places on disk such as backbone.cache_dir left out) and the log's
// backbone_cache_key attribute when it has one. Runs of different backbones are never
// pooled into one row: each has its own base model.
struct Backbone {
  Setting identity;   // what defines it (sorted by key)
  Setting differing;  // the identity keys whose values differ among the report's backbones
  std::vector<const RunRecord*> runs;
  std::string label() const { return setting_text(differing); }  // "backbone.hidden=256"; "" with one backbone
};

// Runs of one method and one backbone that share every swept setting: one table row, its seeds the sample.
struct Group {
  std::string method;
  Setting setting;  // the keys that vary among this method's runs (full dotted keys)
  std::vector<const RunRecord*> runs;
  std::size_t backbone = 0;  // index into the grouping's backbones
  std::string name;          // how tables and legends name the row (set by group_runs)
  // name, or "flowbp-sparse [method.K=4]" for a group made by hand.
  std::string label() const;
};

struct Grouping {
  std::vector<Group> groups;
  std::vector<Backbone> backbones;
  std::map<std::string, std::string> key_names;  // dotted key -> the name labels use ("method.P" -> "P")
  // method -> swept key -> the value most of the method's rows share (labels leave it out).
  std::map<std::string, std::map<std::string, ConfigValue>> shared_values;
};

// Groups the runs (all of state Done), sorted by method then setting, and names each row
// by what its own variant sets (docs/ANALYSIS.md, "Row labels"): among one method's rows,
// a swept key is shown only where the row's value differs from the value most of the
// rows share; `method.` is dropped where the short name is unambiguous; the method name is
// dropped when every row has the same method; with several backbones every row names its
// backbone by the keys that tell the backbones apart.
Grouping group_runs(const std::vector<const RunRecord*>& runs, const std::set<std::string>& extra_ignored);

// "P=4, negative_weights=reduce": a setting with the grouping's short key names.
std::string short_setting_text(const Setting& setting, const std::map<std::string, std::string>& key_names);

struct MetricInfo {
  std::string name;
  bool lower_is_better = false;
};

struct Cell {
  Summary value;       // the final EMA eval row over the group's seeds
  Summary base;        // the base-model (is_base = 1) row of the same runs
  double gain = 0;     // value.mean - (main table: base.mean; ablation: the baseline variant's mean)
  Difference gain_ci;  // ablation only: the 95% CI of gain (paired by seed, or Welch)
  bool best = false;   // best mean in its column (lower_is_better respected)
};

struct MainTable {
  std::vector<MetricInfo> metrics;
  std::vector<Group> rows;
  std::vector<std::vector<Cell>> cells;  // [row][metric]
  std::vector<Backbone> backbones;
  std::map<std::string, std::string> key_names;
  std::map<std::string, std::map<std::string, ConfigValue>> shared_values;
  std::vector<std::vector<Summary>> base_model;  // [backbone][metric]: base rows of every tabulated run on it
  std::string single_method;  // the method of every row, or "" when the rows have several
  // "base model" or "base model [backbone.hidden=256]".
  std::string base_label(std::size_t backbone) const;
  // The entries of a setting of `method` that differ from the value its rows share.
  Setting distinctive(const std::string& method, const Setting& setting) const;
};

// Notes collect what was left out and why (a run lacking a metric column, ...).
MainTable build_main_table(Grouping grouping, std::vector<std::string>& notes);

struct AblationTable {
  std::string method;
  std::string key;
  Setting context;                   // the method's other swept settings, fixed in this block
  std::string backbone;              // the block's backbone label when the report has several and context does not name it
  std::vector<ConfigValue> values;   // sorted; values[baseline] is the reference
  std::size_t baseline = 0;
  std::vector<std::size_t> rows;     // [variant] -> MainTable row
  std::vector<std::vector<Cell>> cells;  // [variant][metric], gain (and gain_ci) against the baseline variant
};

// For `key`, one block per (method, other settings, backbone) in which key takes at least two values.
// Without a key: the one setting a method varies, for every method that varies exactly one.
// `baseline` (a value: numbers match by value, "4.0" is 4) picks the reference value; default
// the first in sorted order. Throws std::runtime_error when a block has no such value (naming
// the block and its values, with a "did you mean") or when there is no block to apply it to.
std::vector<AblationTable> build_ablations(const MainTable& table, const std::optional<std::string>& key,
                                           const std::optional<std::string>& baseline,
                                           std::vector<std::string>& notes);

// The gradient-fidelity table (docs/METHODS.md §8): per main-table row, over its runs that
// ran the diagnostic (/config diagnostics.exact_grad_every > 0), each run's mean over its
// diagnostic steps of the finite values of a fidelity_* column (the norm ratio's median:
// one step with a near-zero exact gradient makes its ratio huge), then mean ± 95% CI over
// those runs. A diagnostic step whose value is NaN (a zero gradient: every sample past the
// hinge) is left out of its run's mean and counted; a run without any finite value gives
// NaN, so the row's mean is NaN rather than a silently smaller sample.
struct FidelityRow {
  std::size_t row = 0;  // MainTable row
  std::size_t runs = 0; // the row's runs with the diagnostic
  Summary cos, norm_ratio, bias_cos, spread_cos;
  std::size_t steps = 0;      // diagnostic steps with a finite cosine, over those runs
  std::size_t nan_steps = 0;  // diagnostic steps (time_fidelity finite) whose cosine is NaN
};

// True when the run ran the diagnostic.
bool has_fidelity(const RunRecord& run);

// Rows of the main table with at least one such run, in its order.
std::vector<FidelityRow> build_fidelity_table(const MainTable& table);

}  // namespace flowbp::analysis
