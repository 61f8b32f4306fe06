// The paper's tables as data: runs grouped by method and swept setting, the
// method x metric table (Table 2: mean, 95% CI over seeds, gain over the base
// model, best marked) and the ablation tables (Table 4: gain of each value of a
// swept setting over its baseline value).
#pragma once
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

// Runs of one method that share every swept setting: one table row, its seeds the sample.
struct Group {
  std::string method;
  Setting setting;  // the keys that vary among this method's runs
  std::vector<const RunRecord*> runs;
  std::string label() const;  // "flowbp-sparse" or "flowbp-sparse [method.K=4]"
};

// Groups the runs (all of state Done), sorted by method then setting.
std::vector<Group> group_runs(const std::vector<const RunRecord*>& runs, const std::set<std::string>& extra_ignored);

struct MetricInfo {
  std::string name;
  bool lower_is_better = false;
};

struct Cell {
  Summary value;       // the final EMA eval row over the group's seeds
  Summary base;        // the base-model (is_base = 1) row of the same runs
  double gain = 0;     // value.mean - (main table: base.mean; ablation: the baseline variant's mean)
  bool best = false;   // best mean in its column (lower_is_better respected)
};

struct MainTable {
  std::vector<MetricInfo> metrics;
  std::vector<Group> rows;
  std::vector<std::vector<Cell>> cells;  // [row][metric]
  std::vector<Summary> base_model;       // [metric]: base rows of every tabulated run
};

// Notes collect what was left out and why (a run lacking a metric column, ...).
MainTable build_main_table(std::vector<Group> groups, std::vector<std::string>& notes);

struct AblationTable {
  std::string method;
  std::string key;
  Setting context;                   // the method's other swept settings, fixed in this block
  std::vector<ConfigValue> values;   // sorted; values[baseline] is the reference
  std::size_t baseline = 0;
  std::vector<std::size_t> rows;     // [variant] -> MainTable row
  std::vector<std::vector<Cell>> cells;  // [variant][metric], gain against the baseline variant
};

// For `key`, one block per (method, other settings) in which key takes at least two values.
// Without a key: the one setting a method varies, for every method that varies exactly one.
// `baseline` (value text) picks the reference value; default the first in sorted order.
std::vector<AblationTable> build_ablations(const MainTable& table, const std::optional<std::string>& key,
                                           const std::optional<std::string>& baseline,
                                           std::vector<std::string>& notes);

}  // namespace flowbp::analysis
