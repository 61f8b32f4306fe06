#include "tables.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace flowbp::analysis {

std::string setting_text(const Setting& setting) {
  std::string out;
  for (const auto& [key, value] : setting) out += (out.empty() ? "" : ", ") + key + "=" + value.text();
  return out;
}

bool is_ignored_key(const std::string& key, const std::set<std::string>& extra_ignored) {
  if (extra_ignored.count(key) || key == "train.seed" || key == "method.name") return true;
  // What method.preset set: derived from the preset and the settings, never a knob of its own.
  if (key == "method.preset_values" || key == "method.preset_overridden") return true;
  const std::string leaf = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
  auto ends_with = [&](const std::string& suffix) {
    return leaf.size() >= suffix.size() && leaf.compare(leaf.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  // Output locations differ between every pair of runs and would split each seed into its own row.
  return leaf == "dir" || leaf == "path" || ends_with("_dir") || ends_with("_path");
}

std::string Group::label() const { return setting.empty() ? method : method + " [" + setting_text(setting) + "]"; }

namespace {

bool setting_less(const Setting& a, const Setting& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i].first != b[i].first) return a[i].first < b[i].first;
    if (config_less(a[i].second, b[i].second)) return true;
    if (config_less(b[i].second, a[i].second)) return false;
  }
  return a.size() < b.size();
}

bool setting_equal(const Setting& a, const Setting& b) { return !setting_less(a, b) && !setting_less(b, a); }

std::vector<std::string> varying_keys(const std::vector<const RunRecord*>& runs, const std::set<std::string>& ignored) {
  std::map<std::string, std::vector<ConfigValue>> seen;
  std::map<std::string, std::size_t> present;
  for (const RunRecord* run : runs)
    for (const auto& [key, value] : run->config) {
      if (is_ignored_key(key, ignored)) continue;
      ++present[key];
      auto& values = seen[key];
      if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
    }
  std::vector<std::string> keys;
  for (const auto& [key, values] : seen)
    if (values.size() > 1 || present[key] != runs.size()) keys.push_back(key);
  // When the preset varies, a setting that the preset alone decides (the same value in
  // every run of a preset) is the preset's doing: the runs are told apart by the preset.
  if (std::find(keys.begin(), keys.end(), "method.preset") != keys.end()) {
    auto follows_preset = [&](const std::string& key) {
      std::map<std::string, const ConfigValue*> by_preset;
      for (const RunRecord* run : runs) {
        auto preset = run->config.find("method.preset");
        auto value = run->config.find(key);
        if (preset == run->config.end() || value == run->config.end()) return false;
        auto [it, fresh] = by_preset.emplace(preset->second.text(), &value->second);
        if (!fresh && !(*it->second == value->second)) return false;
      }
      return true;
    };
    keys.erase(std::remove_if(keys.begin(), keys.end(),
                              [&](const std::string& key) { return key != "method.preset" && follows_preset(key); }),
               keys.end());
  }
  return keys;
}

// A "*_std" column (reward_std) is the spread of the samples, not a score: neither
// a wider nor a narrower spread is better in itself, so it is never marked.
bool is_spread(const std::string& metric) {
  const std::string suffix = "_std";
  return metric.size() > suffix.size() && metric.compare(metric.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Best per column: NaN never wins, ties all win, and a column where every row
// is equal (or there is one row) has no best: a mark there would say nothing.
void mark_best(std::vector<std::vector<Cell>>& cells, const std::vector<MetricInfo>& metrics) {
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    std::optional<double> best, worst;
    if (is_spread(metrics[m].name)) continue;
    for (const auto& row : cells) {
      const double v = row[m].value.mean;
      if (row[m].value.n == 0 || std::isnan(v)) continue;
      if (!best || (metrics[m].lower_is_better ? v < *best : v > *best)) best = v;
      if (!worst || (metrics[m].lower_is_better ? v > *worst : v < *worst)) worst = v;
    }
    const bool separates = best && *best != *worst;
    for (auto& row : cells) row[m].best = separates && row[m].value.n > 0 && row[m].value.mean == *best;
  }
}

}  // namespace

std::vector<Group> group_runs(const std::vector<const RunRecord*>& runs, const std::set<std::string>& extra_ignored) {
  std::map<std::string, std::vector<const RunRecord*>> by_method;
  for (const RunRecord* run : runs) by_method[run->method].push_back(run);
  std::vector<Group> groups;
  for (const auto& [method, method_runs] : by_method) {
    const auto keys = varying_keys(method_runs, extra_ignored);
    std::vector<Group> mine;
    for (const RunRecord* run : method_runs) {
      Setting setting;
      for (const auto& key : keys) {
        auto it = run->config.find(key);
        ConfigValue unset;
        unset.s = "(unset)";
        setting.emplace_back(key, it == run->config.end() ? unset : it->second);
      }
      auto g = std::find_if(mine.begin(), mine.end(), [&](const Group& x) { return setting_equal(x.setting, setting); });
      if (g == mine.end()) mine.push_back(Group{method, setting, {run}});
      else g->runs.push_back(run);
    }
    std::sort(mine.begin(), mine.end(), [](const Group& a, const Group& b) { return setting_less(a.setting, b.setting); });
    for (auto& g : mine) {
      std::sort(g.runs.begin(), g.runs.end(), [](const RunRecord* a, const RunRecord* b) {
        return a->seed != b->seed ? a->seed < b->seed : a->path < b->path;
      });
      groups.push_back(std::move(g));
    }
  }
  return groups;
}

MainTable build_main_table(std::vector<Group> groups, std::vector<std::string>& notes) {
  MainTable table;
  std::map<std::string, std::pair<std::size_t, std::size_t>> lower_votes;  // metric -> (runs saying lower, runs)
  for (const auto& g : groups)
    for (const RunRecord* run : g.runs)
      for (const auto& name : run->metric_names()) {
        auto& votes = lower_votes[name];
        votes.first += run->lower_is_better.count(name);
        ++votes.second;
      }
  for (const auto& [name, votes] : lower_votes) {
    table.metrics.push_back({name, votes.first * 2 > votes.second});
    if (votes.first != 0 && votes.first != votes.second)
      notes.push_back("metric '" + name + "': lower_is_better is set in " + std::to_string(votes.first) + " of " +
                      std::to_string(votes.second) + " runs; treated as " +
                      (table.metrics.back().lower_is_better ? "lower" : "higher") + " is better");
  }
  // The in-domain reward first, as in the paper; the rest alphabetically.
  std::stable_sort(table.metrics.begin(), table.metrics.end(),
                   [](const MetricInfo& a, const MetricInfo& b) { return a.name == "reward" && b.name != "reward"; });

  std::vector<std::vector<double>> all_base(table.metrics.size());
  for (const auto& g : groups) {
    std::vector<Cell> row;
    for (std::size_t m = 0; m < table.metrics.size(); ++m) {
      const std::string& name = table.metrics[m].name;
      std::vector<double> values, base;
      for (const RunRecord* run : g.runs) {
        auto col = run->eval.find(name);
        if (col == run->eval.end()) {
          notes.push_back(run->path + ": missing column /eval/" + name + "; left out of that metric for " + g.label());
          continue;
        }
        values.push_back(col->second[static_cast<std::size_t>(run->final_eval_row())]);
        const long b = run->base_eval_row();
        if (b >= 0) {
          base.push_back(col->second[static_cast<std::size_t>(b)]);
          all_base[m].push_back(base.back());
        }
      }
      Cell cell;
      cell.value = summarize(values);
      cell.base = summarize(base);
      cell.gain = cell.value.mean - cell.base.mean;
      row.push_back(cell);
    }
    for (const RunRecord* run : g.runs)
      if (run->base_eval_row() < 0)
        notes.push_back(run->path + ": /eval has no base-model row (is_base = 1); its gain over base leaves it out");
    table.cells.push_back(std::move(row));
  }
  for (auto& base : all_base) table.base_model.push_back(summarize(base));
  table.rows = std::move(groups);
  mark_best(table.cells, table.metrics);
  return table;
}

std::vector<AblationTable> build_ablations(const MainTable& table, const std::optional<std::string>& key,
                                           const std::optional<std::string>& baseline,
                                           std::vector<std::string>& notes) {
  // Which key each method's block is over.
  std::map<std::string, std::string> key_of_method;
  std::map<std::string, std::set<std::string>> keys_of_method;
  for (const auto& g : table.rows)
    for (const auto& [k, v] : g.setting) keys_of_method[g.method].insert(k);
  for (const auto& [method, keys] : keys_of_method) {
    if (key) {
      if (keys.count(*key)) key_of_method[method] = *key;
    } else if (keys.size() == 1) {
      key_of_method[method] = *keys.begin();
    }
  }

  std::vector<AblationTable> blocks;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const Group& g = table.rows[r];
    auto km = key_of_method.find(g.method);
    if (km == key_of_method.end()) continue;
    Setting context;
    ConfigValue value;
    for (const auto& [k, v] : g.setting) {
      if (k == km->second) value = v;
      else context.emplace_back(k, v);
    }
    auto block = std::find_if(blocks.begin(), blocks.end(), [&](const AblationTable& b) {
      return b.method == g.method && setting_equal(b.context, context);
    });
    if (block == blocks.end()) {
      blocks.push_back(AblationTable{g.method, km->second, context, {}, 0, {}, {}});
      block = blocks.end() - 1;
    }
    block->values.push_back(value);
    block->rows.push_back(r);
  }

  std::vector<AblationTable> out;
  for (auto& b : blocks) {
    if (b.values.size() < 2) continue;  // e.g. the one K a method's other setting was run at
    std::vector<std::size_t> order(b.values.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return config_less(b.values[x], b.values[y]); });
    AblationTable sorted{b.method, b.key, b.context, {}, 0, {}, {}};
    for (std::size_t i : order) {
      sorted.values.push_back(b.values[i]);
      sorted.rows.push_back(b.rows[i]);
    }
    if (baseline) {
      auto it = std::find_if(sorted.values.begin(), sorted.values.end(),
                             [&](const ConfigValue& v) { return v.text() == *baseline; });
      if (it == sorted.values.end())
        notes.push_back("ablation of " + b.key + " for " + b.method + ": no runs with " + b.key + "=" + *baseline +
                        "; baseline is " + sorted.values.front().text());
      else
        sorted.baseline = static_cast<std::size_t>(it - sorted.values.begin());
    }
    for (std::size_t row : sorted.rows) sorted.cells.push_back(table.cells[row]);
    for (auto& row : sorted.cells)
      for (std::size_t m = 0; m < row.size(); ++m) row[m].gain = row[m].value.mean - sorted.cells[sorted.baseline][m].value.mean;
    mark_best(sorted.cells, table.metrics);
    out.push_back(std::move(sorted));
  }
  return out;
}

}  // namespace flowbp::analysis
