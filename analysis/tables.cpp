#include "tables.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "flowbp/did_you_mean.h"

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

std::string Group::label() const {
  if (!name.empty()) return name;
  return setting.empty() ? method : method + " [" + setting_text(setting) + "]";
}

std::string short_setting_text(const Setting& setting, const std::map<std::string, std::string>& key_names) {
  std::string out;
  for (const auto& [key, value] : setting) {
    auto it = key_names.find(key);
    out += (out.empty() ? "" : ", ") + (it == key_names.end() ? key : it->second) + "=" + value.text();
  }
  return out;
}

Setting MainTable::distinctive(const std::string& method, const Setting& setting) const {
  auto shared = shared_values.find(method);
  Setting out;
  for (const auto& kv : setting) {
    if (shared != shared_values.end()) {
      auto it = shared->second.find(kv.first);
      if (it != shared->second.end() && it->second == kv.second) continue;
    }
    out.push_back(kv);
  }
  return out;
}

std::string MainTable::base_label(std::size_t backbone) const {
  const std::string which = backbones.size() > 1 ? backbones.at(backbone).label() : "";
  return which.empty() ? "base model" : "base model [" + which + "]";
}

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

namespace {

bool is_place_key(const std::string& key) { return is_ignored_key(key, {}) && key != "train.seed" && key != "method.name"; }

Setting backbone_identity(const RunRecord& run) {
  Setting id;
  for (const auto& [key, value] : run.config)
    if (key.rfind("backbone.", 0) == 0 && !is_place_key(key)) id.emplace_back(key, value);
  if (!run.backbone_cache_key.empty()) {
    ConfigValue v;
    v.s = run.backbone_cache_key;
    id.emplace_back("backbone_cache_key", v);
  }
  std::sort(id.begin(), id.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return id;
}

std::vector<Backbone> find_backbones(const std::vector<const RunRecord*>& runs, std::vector<std::size_t>& of_run) {
  std::vector<Backbone> backbones;
  for (const RunRecord* run : runs) {
    const Setting id = backbone_identity(*run);
    auto it = std::find_if(backbones.begin(), backbones.end(), [&](const Backbone& b) { return setting_equal(b.identity, id); });
    if (it == backbones.end()) {
      backbones.push_back(Backbone{id, {}, {}});
      it = backbones.end() - 1;
    }
    it->runs.push_back(run);
    of_run.push_back(static_cast<std::size_t>(it - backbones.begin()));
  }
  if (backbones.size() < 2) return backbones;
  // What tells them apart: a key whose value (or presence) is not the same in all. The
  // cache key (a hash of the settings and of the pre-training code) only where the
  // settings alone do not: the same settings pre-trained by another flowbp version.
  std::set<std::string> keys;
  for (const auto& b : backbones)
    for (const auto& kv : b.identity)
      if (kv.first != "backbone_cache_key") keys.insert(kv.first);
  auto settings_separate = [&] {
    for (std::size_t i = 0; i < backbones.size(); ++i)
      for (std::size_t j = i + 1; j < backbones.size(); ++j)
        if (setting_equal(backbones[i].differing, backbones[j].differing)) return false;
    return true;
  };
  std::vector<std::string> candidates(keys.begin(), keys.end());
  candidates.push_back("backbone_cache_key");
  for (const auto& key : candidates) {
    if (key == "backbone_cache_key" && settings_separate()) break;
    std::vector<std::optional<ConfigValue>> values;
    for (const auto& b : backbones) {
      auto it = std::find_if(b.identity.begin(), b.identity.end(), [&](const auto& kv) { return kv.first == key; });
      values.push_back(it == b.identity.end() ? std::nullopt : std::optional<ConfigValue>(it->second));
    }
    const bool differs = std::any_of(values.begin(), values.end(), [&](const auto& v) {
      return v.has_value() != values.front().has_value() || (v && *v != *values.front());
    });
    if (!differs) continue;
    for (std::size_t b = 0; b < backbones.size(); ++b) {
      ConfigValue v;
      v.s = "(unset)";
      backbones[b].differing.emplace_back(key, values[b] ? *values[b] : v);
    }
  }
  return backbones;
}

std::string last_component(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

// The keys a row shows: among one method's rows, a key is left out where the row has the
// value most of the rows share (the reference variant), so a row reads as what its own
// variant set. A key with no such shared value (a grid, or one key) is always shown.
// With several backbones, the keys that tell them apart are always shown.
void name_rows(std::vector<Group>& groups, const std::vector<Backbone>& backbones,
               std::map<std::string, std::string>& key_names,
               std::map<std::string, std::map<std::string, ConfigValue>>& shared_values) {
  const bool several_backbones = backbones.size() > 1;
  std::set<std::string> backbone_keys;
  for (const auto& b : backbones)
    for (const auto& kv : b.differing) backbone_keys.insert(kv.first);
  std::set<std::string> methods;
  for (const auto& g : groups) methods.insert(g.method);

  std::vector<Setting> shown(groups.size());
  for (const auto& method : methods) {
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < groups.size(); ++i)
      if (groups[i].method == method) mine.push_back(i);
    const Setting& keys = groups[mine.front()].setting;  // the same keys for every row of a method
    std::vector<std::optional<ConfigValue>> common(keys.size());
    std::vector<std::size_t> distinct(keys.size());
    for (std::size_t k = 0; k < keys.size(); ++k) {
      std::vector<std::pair<ConfigValue, std::size_t>> counts;
      for (std::size_t i : mine) {
        const ConfigValue& v = groups[i].setting[k].second;
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == v; });
        if (it == counts.end()) counts.emplace_back(v, 1);
        else ++it->second;
      }
      distinct[k] = counts.size();
      std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      const bool unique_top = counts.size() == 1 || counts[0].second > counts[1].second;
      if (counts[0].second >= 2 && unique_top && !(several_backbones && backbone_keys.count(keys[k].first)))
        common[k] = counts[0].first;
      if (common[k]) shared_values[method][keys[k].first] = *common[k];
    }
    // Row order: by the most-varied key (in its natural order), then the other keys with
    // the shared value first, so each variant follows the reference it departs from
    // (sweeps/lagrange.toml: P=1, P=2, P=3, weights=uniform, support_scale=0.25, ...).
    const std::size_t primary =
        keys.empty() ? 0 : static_cast<std::size_t>(std::max_element(distinct.begin(), distinct.end()) - distinct.begin());
    auto before = [&](const Group& a, const Group& b) {
      for (std::size_t pass = 0; pass < keys.size(); ++pass) {
        const std::size_t k = pass == 0 ? primary : (pass <= primary ? pass - 1 : pass);
        const ConfigValue& x = a.setting[k].second;
        const ConfigValue& y = b.setting[k].second;
        if (x == y) continue;
        if (k != primary && common[k]) {
          if (x == *common[k]) return true;
          if (y == *common[k]) return false;
        }
        return config_less(x, y);
      }
      return a.backbone < b.backbone;
    };
    // A method's rows are contiguous (group_runs adds them method by method).
    std::stable_sort(groups.begin() + static_cast<std::ptrdiff_t>(mine.front()),
                     groups.begin() + static_cast<std::ptrdiff_t>(mine.back()) + 1, before);
    for (std::size_t i : mine) {
      for (std::size_t k = 0; k < keys.size(); ++k)
        if (!common[k] || groups[i].setting[k].second != *common[k]) shown[i].push_back(groups[i].setting[k]);
      if (shown[i].empty() && !keys.empty()) {  // the reference variant: named by the most-varied key
        const std::size_t k = static_cast<std::size_t>(std::max_element(distinct.begin(), distinct.end()) - distinct.begin());
        shown[i].push_back(groups[i].setting[k]);
      }
      if (several_backbones)
        for (const auto& kv : backbones[groups[i].backbone].differing)
          if (std::none_of(keys.begin(), keys.end(), [&](const auto& s) { return s.first == kv.first; }))
            shown[i].push_back(kv);
    }
  }

  // Short names: `method.` dropped unless another key shown ends in the same word.
  std::set<std::string> all_keys;
  for (const auto& g : groups)
    for (const auto& kv : g.setting) all_keys.insert(kv.first);
  for (const auto& b : backbones)
    for (const auto& kv : b.differing) all_keys.insert(kv.first);
  std::map<std::string, std::size_t> uses;
  for (const auto& key : all_keys) ++uses[last_component(key)];
  for (const auto& key : all_keys)
    key_names[key] = key.rfind("method.", 0) == 0 && uses[last_component(key)] == 1 ? key.substr(7) : key;

  const bool one_method = methods.size() == 1;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string text = short_setting_text(shown[i], key_names);
    groups[i].name = one_method ? (text.empty() ? groups[i].method : text)
                                : groups[i].method + (text.empty() ? "" : " [" + text + "]");
  }
  // Distinct rows always read differently; should two names still meet, both rows show every key.
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (std::size_t j = i + 1; j < groups.size(); ++j)
      if (groups[i].name == groups[j].name)
        for (std::size_t x : {i, j}) {
          Setting all = groups[x].setting;
          if (several_backbones)
            all.insert(all.end(), backbones[groups[x].backbone].differing.begin(), backbones[groups[x].backbone].differing.end());
          groups[x].name = groups[x].method + " [" + setting_text(all) + "]";
        }
}

}  // namespace

Grouping group_runs(const std::vector<const RunRecord*>& runs, const std::set<std::string>& extra_ignored) {
  Grouping out;
  std::vector<std::size_t> backbone_of_run;
  out.backbones = find_backbones(runs, backbone_of_run);
  std::map<const RunRecord*, std::size_t> backbone_of;
  for (std::size_t i = 0; i < runs.size(); ++i) backbone_of[runs[i]] = backbone_of_run[i];

  std::map<std::string, std::vector<const RunRecord*>> by_method;
  for (const RunRecord* run : runs) by_method[run->method].push_back(run);
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
      const std::size_t backbone = backbone_of.at(run);
      auto g = std::find_if(mine.begin(), mine.end(),
                            [&](const Group& x) { return x.backbone == backbone && setting_equal(x.setting, setting); });
      if (g == mine.end()) mine.push_back(Group{method, setting, {run}, backbone, ""});
      else g->runs.push_back(run);
    }
    std::sort(mine.begin(), mine.end(), [](const Group& a, const Group& b) {
      if (setting_less(a.setting, b.setting)) return true;
      if (setting_less(b.setting, a.setting)) return false;
      return a.backbone < b.backbone;
    });
    for (auto& g : mine) {
      std::sort(g.runs.begin(), g.runs.end(), [](const RunRecord* a, const RunRecord* b) {
        return a->seed != b->seed ? a->seed < b->seed : a->path < b->path;
      });
      out.groups.push_back(std::move(g));
    }
  }
  name_rows(out.groups, out.backbones, out.key_names, out.shared_values);
  return out;
}

MainTable build_main_table(Grouping grouping, std::vector<std::string>& notes) {
  MainTable table;
  std::vector<Group>& groups = grouping.groups;
  table.backbones = std::move(grouping.backbones);
  table.key_names = std::move(grouping.key_names);
  table.shared_values = std::move(grouping.shared_values);
  std::set<std::string> methods;
  for (const auto& g : groups) methods.insert(g.method);
  if (methods.size() == 1) table.single_method = *methods.begin();
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

  // [backbone][metric]: each backbone's base model, from the base rows of the runs on it.
  std::vector<std::vector<std::vector<double>>> all_base(
      table.backbones.size(), std::vector<std::vector<double>>(table.metrics.size()));
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
          all_base[g.backbone][m].push_back(base.back());
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
  for (const auto& per_metric : all_base) {
    table.base_model.emplace_back();
    for (const auto& base : per_metric) table.base_model.back().push_back(summarize(base));
  }
  table.rows = std::move(groups);
  mark_best(table.cells, table.metrics);
  return table;
}

namespace {

// "4.0" names the value 4; a word names the value with that text.
bool names_value(const std::string& text, const ConfigValue& v) {
  if (v.numeric()) {
    char* end = nullptr;
    const double x = std::strtod(text.c_str(), &end);
    if (end != text.c_str() && *end == '\0') return x == v.number();
  }
  return v.text() == text;
}

// The nearest value by number when both are numbers, else the usual near miss.
std::string suggestion(const std::string& text, const std::vector<ConfigValue>& values) {
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  const bool number = end != text.c_str() && *end == '\0';
  if (number && std::all_of(values.begin(), values.end(), [](const ConfigValue& v) { return v.numeric(); })) {
    const auto best = std::min_element(values.begin(), values.end(), [&](const ConfigValue& a, const ConfigValue& b) {
      return std::fabs(a.number() - x) < std::fabs(b.number() - x);
    });
    return " (did you mean '" + best->text() + "'?)";
  }
  std::vector<std::string> texts;
  for (const auto& v : values) texts.push_back(v.text());
  return did_you_mean(text, texts);
}

// The final EMA value of `metric` of each run of a group that has the column, by seed.
std::vector<std::pair<std::int64_t, double>> finals_by_seed(const Group& g, const std::string& metric) {
  std::vector<std::pair<std::int64_t, double>> out;
  for (const RunRecord* run : g.runs) {
    auto col = run->eval.find(metric);
    if (col == run->eval.end()) continue;
    out.emplace_back(run->seed, col->second[static_cast<std::size_t>(run->final_eval_row())]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Paired by seed when both sides ran the same seeds, each once (two at least); Welch otherwise.
Difference gain_interval(const Group& variant, const Group& base, const std::string& metric) {
  const auto a = finals_by_seed(variant, metric), b = finals_by_seed(base, metric);
  auto unique_seeds = [](const std::vector<std::pair<std::int64_t, double>>& v) {
    for (std::size_t i = 1; i < v.size(); ++i)
      if (v[i].first == v[i - 1].first) return false;
    return true;
  };
  bool same_seeds = a.size() == b.size() && a.size() >= 2 && unique_seeds(a) && unique_seeds(b);
  for (std::size_t i = 0; same_seeds && i < a.size(); ++i) same_seeds = a[i].first == b[i].first;
  std::vector<double> va, vb;
  for (const auto& x : a) va.push_back(x.second);
  for (const auto& x : b) vb.push_back(x.second);
  return same_seeds ? paired_difference(va, vb) : welch_difference(va, vb);
}

std::string block_name(const AblationTable& b, const std::map<std::string, std::string>& key_names) {
  std::string where = b.method;
  std::string context = short_setting_text(b.context, key_names);
  if (!b.backbone.empty()) context += (context.empty() ? "" : ", ") + b.backbone;
  return context.empty() ? where : where + " [" + context + "]";
}

}  // namespace

std::vector<AblationTable> build_ablations(const MainTable& table, const std::optional<std::string>& key,
                                           const std::optional<std::string>& baseline,
                                           std::vector<std::string>& notes) {
  (void)notes;
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
  std::vector<std::size_t> block_backbone;
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
    // Variants of a backbone key are on different backbones by definition; otherwise a
    // block compares runs of one base model only.
    const bool over_backbones = km->second.rfind("backbone.", 0) == 0;
    auto block = std::find_if(blocks.begin(), blocks.end(), [&](const AblationTable& b) {
      const std::size_t i = static_cast<std::size_t>(&b - blocks.data());
      return b.method == g.method && setting_equal(b.context, context) && (over_backbones || block_backbone[i] == g.backbone);
    });
    if (block == blocks.end()) {
      AblationTable b{g.method, km->second, context, "", {}, 0, {}, {}};
      if (table.backbones.size() > 1 && !over_backbones) {
        // Name the backbone unless the context already does.
        Setting missing;
        for (const auto& kv : table.backbones[g.backbone].differing)
          if (std::none_of(context.begin(), context.end(), [&](const auto& c) { return c.first == kv.first; }))
            missing.push_back(kv);
        b.backbone = setting_text(missing);
      }
      blocks.push_back(b);
      block_backbone.push_back(g.backbone);
      block = blocks.end() - 1;
    }
    block->values.push_back(value);
    block->rows.push_back(r);
  }

  std::vector<AblationTable> out;
  std::vector<std::string> missing_baseline;
  for (auto& b : blocks) {
    if (b.values.size() < 2) continue;  // e.g. the one K a method's other setting was run at
    std::vector<std::size_t> order(b.values.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return config_less(b.values[x], b.values[y]); });
    AblationTable sorted{b.method, b.key, b.context, b.backbone, {}, 0, {}, {}};
    for (std::size_t i : order) {
      sorted.values.push_back(b.values[i]);
      sorted.rows.push_back(b.rows[i]);
    }
    if (baseline) {
      auto it = std::find_if(sorted.values.begin(), sorted.values.end(),
                             [&](const ConfigValue& v) { return names_value(*baseline, v); });
      if (it == sorted.values.end()) {
        std::string values;
        for (const auto& v : sorted.values) values += (values.empty() ? "" : ", ") + v.text();
        missing_baseline.push_back(b.key + " of " + block_name(sorted, table.key_names) + " has no runs with " + b.key +
                                   "=" + *baseline + " (values: " + values + ")" + suggestion(*baseline, sorted.values));
        continue;
      }
      sorted.baseline = static_cast<std::size_t>(it - sorted.values.begin());
    }
    for (std::size_t row : sorted.rows) sorted.cells.push_back(table.cells[row]);
    const Group& base_group = table.rows[sorted.rows[sorted.baseline]];
    for (std::size_t v = 0; v < sorted.cells.size(); ++v)
      for (std::size_t m = 0; m < sorted.cells[v].size(); ++m) {
        Cell& cell = sorted.cells[v][m];
        cell.gain = cell.value.mean - sorted.cells[sorted.baseline][m].value.mean;
        cell.gain_ci = v == sorted.baseline ? Difference{Difference::Kind::None, 0, NAN, NAN}
                                            : gain_interval(table.rows[sorted.rows[v]], base_group, table.metrics[m].name);
      }
    mark_best(sorted.cells, table.metrics);
    out.push_back(std::move(sorted));
  }
  if (baseline && (!missing_baseline.empty() || out.empty())) {
    if (out.empty() && missing_baseline.empty())
      throw std::runtime_error("--baseline " + *baseline + ": no ablation table to apply it to (" +
                               (key ? "--by " + *key + " does not vary within any method"
                                    : std::string("no method varies exactly one setting; name the key with --by KEY")) +
                               ")");
    std::string message = "--baseline " + *baseline + ": ";
    for (std::size_t i = 0; i < missing_baseline.size(); ++i) message += (i ? "; " : "") + missing_baseline[i];
    throw std::runtime_error(message);
  }
  return out;
}

bool has_fidelity(const RunRecord& run) {
  auto it = run.config.find("diagnostics.exact_grad_every");
  return it != run.config.end() && it->second.numeric() && it->second.number() > 0 &&
         run.steps.count("fidelity_cos") && run.steps.count("step");
}

namespace {

// The mean of a column's finite values over a run's diagnostic steps; NaN when none.
double run_mean(const RunRecord& run, const std::string& column) {
  auto it = run.steps.find(column);
  if (it == run.steps.end()) return NAN;
  double sum = 0;
  std::size_t n = 0;
  for (double v : it->second)
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  return n ? sum / static_cast<double>(n) : NAN;
}

// The median of those values: the norm ratio's per-run statistic, since a near-zero exact
// gradient (samples far from every reward bump: inside the hinge, with a vanishing reward
// gradient) makes a single step's ratio arbitrarily large.
double run_median(const RunRecord& run, const std::string& column) {
  auto it = run.steps.find(column);
  if (it == run.steps.end()) return NAN;
  std::vector<double> v;
  for (double x : it->second)
    if (std::isfinite(x)) v.push_back(x);
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::vector<FidelityRow> build_fidelity_table(const MainTable& table) {
  std::vector<FidelityRow> out;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    FidelityRow row;
    row.row = r;
    std::vector<double> cos, ratio, bias, spread;
    for (const RunRecord* run : table.rows[r].runs) {
      if (!has_fidelity(*run)) continue;
      ++row.runs;
      cos.push_back(run_mean(*run, "fidelity_cos"));
      ratio.push_back(run_median(*run, "fidelity_norm_ratio"));
      bias.push_back(run_mean(*run, "fidelity_bias_cos"));
      spread.push_back(run_mean(*run, "fidelity_spread_cos"));
      const auto& c = run->steps.at("fidelity_cos");
      auto t = run->steps.find("time_fidelity");
      for (std::size_t i = 0; i < c.size(); ++i) {
        if (std::isfinite(c[i])) ++row.steps;
        else if (t != run->steps.end() && i < t->second.size() && std::isfinite(t->second[i])) ++row.nan_steps;
      }
    }
    if (!row.runs) continue;
    row.cos = summarize(cos);
    row.norm_ratio = summarize(ratio);
    row.bias_cos = summarize(bias);
    row.spread_cos = summarize(spread);
    out.push_back(row);
  }
  return out;
}

}  // namespace flowbp::analysis
