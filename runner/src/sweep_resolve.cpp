// From a parsed sweep to validated, named runs: every run goes through
// load_experiment (the same check `flowbp train` does) before any starts.
#include <algorithm>
#include <map>
#include <set>

#include "flowbp/did_you_mean.h"
#include "flowbp/sweep.h"
#include "toml_text.h"

namespace flowbp {
using namespace sweep_detail;

namespace {

// Problems found across runs; one line per distinct problem, with how many runs hit it.
class Problems {
 public:
  void add(const std::string& message, const std::string& run = "") {
    auto it = index_.find(message);
    if (it == index_.end()) {
      index_[message] = entries_.size();
      entries_.push_back({message, run, 1});
    } else {
      ++entries_[it->second].count;
    }
  }
  bool empty() const { return entries_.empty(); }
  std::string text() const {
    std::string out;
    for (const auto& e : entries_) {
      if (!out.empty()) out += "\n";
      out += e.message;
      if (!e.run.empty())
        out += "  [" + (e.count > 1 ? "in " + std::to_string(e.count) + " runs, e.g. " : std::string("in ")) +
               e.run + "]";
    }
    return out;
  }

 private:
  struct Entry {
    std::string message, run;
    std::size_t count;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> index_;
};

std::vector<std::string> param_names(const Method& method) {
  std::vector<std::string> names;
  for (const auto& p : method.settings()) names.push_back(p.name);
  return names;
}

// What a misspelt method.* key may have meant: a setting, or a key of [method] itself.
std::vector<std::string> method_keys(const Method& method) {
  std::vector<std::string> names = param_names(method);
  names.insert(names.end(), {"name", "preset"});
  return names;
}

// A key of [method] besides name: one of the method's settings, or its preset (which
// every method accepts; the preset's name is checked per method when the run resolves).
bool declares(const Method& method, const std::string& setting) {
  if (setting == "preset") return true;
  const auto names = param_names(method);
  return std::find(names.begin(), names.end(), setting) != names.end();
}

std::string describe(std::size_t index, const Variant& variant) {
  std::string out = "run #" + std::to_string(index + 1);
  if (variant.empty()) return out;
  out += " (";
  for (std::size_t i = 0; i < variant.size(); ++i)
    out += (i ? ", " : "") + variant[i].key + "=" + variant[i].value_text;
  return out + ")";
}

Override to_override(const SweepSetting& s) { return {s.key, s.value_text, s.origin}; }

std::string last_component(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '+';
    out += ok ? c : '-';
  }
  return out;
}

void check_method_overrides(const SweepSpec& spec, const Registry& registry, Problems& problems) {
  const auto methods = registry.names();
  for (const auto& [name, settings] : spec.method_overrides) {
    const std::string where = settings.empty() ? spec.path + ":1:1" : settings.front().origin;
    if (!registry.has(name)) {
      problems.add(where + ": method_overrides." + name + ": unknown method '" + name + "'" +
                   did_you_mean(name, methods) + " (loaded: " + std::to_string(methods.size()) + " methods)");
      continue;
    }
    const Method& method = registry.get(name);
    for (const auto& s : settings) {
      const std::string setting = s.key.substr(std::string("method.").size());
      if (!declares(method, setting))
        problems.add(s.origin + ": method_overrides." + name + "." + setting + ": " + name +
                     " has no setting '" + setting + "'" + did_you_mean(setting, method_keys(method)));
    }
  }
}

}  // namespace

std::string readable_run_label(const std::string& method,
                               const std::vector<std::pair<std::string, std::string>>& varying) {
  std::vector<std::string> tokens;
  bool has_method = false;
  std::map<std::string, int> short_uses;
  for (const auto& [key, value] : varying) ++short_uses[last_component(key)];
  for (const auto& [key, value] : varying) {
    const std::string v = unquoted(value);
    if (key == "method.name") {
      has_method = true;
      tokens.insert(tokens.begin(), v);
      continue;
    }
    std::string label = last_component(key);
    if (short_uses[label] > 1) label = key;  // train.steps and sampling.steps both vary
    const bool is_string = value.size() >= 2 && value.front() == '"';
    tokens.push_back(label + (is_string ? "-" : "") + v);
  }
  if (!has_method) tokens.insert(tokens.begin(), method);
  std::string out;
  for (const auto& t : tokens) out += (out.empty() ? "" : "_") + t;
  out = sanitize(out);
  if (out.size() > 96) out.resize(96);  // keep directory names manageable; the id keeps them unique
  return out;
}

std::vector<SweepRun> resolve_sweep(const SweepSpec& spec, const Catalog& catalog) {
  if (!catalog.methods()) throw std::logic_error("resolve_sweep needs a catalog with the method plugins");
  const Registry& registry = *catalog.methods();
  const Catalog unchecked(nullptr, catalog.backbones(), catalog.rewards());
  Problems problems;
  check_method_overrides(spec, registry, problems);

  const std::vector<Variant> variants = expand_axes(spec);
  std::vector<SweepRun> runs;
  std::vector<std::size_t> run_variant;  // index into variants, per resolved run
  std::map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const Variant& variant = variants[i];
    const std::string who = describe(i, variant);
    std::vector<Override> common;
    for (const auto& s : spec.set) common.push_back(to_override(s));
    std::vector<Override> axis_overrides;
    for (const auto& s : variant) axis_overrides.push_back(to_override(s));

    SweepRun run;
    try {
      std::vector<Override> all = common;
      all.insert(all.end(), axis_overrides.begin(), axis_overrides.end());
      run.method = load_experiment(spec.base_path, all, unchecked).method;
    } catch (const std::exception& e) {
      problems.add(e.what(), who);
      continue;
    }
    if (!registry.has(run.method)) {
      std::string where = spec.base_path;
      for (const auto& o : common)
        if (o.key == "method.name") where = o.origin;
      for (const auto& o : axis_overrides)
        if (o.key == "method.name") where = o.origin;
      problems.add(where + ": method.name: unknown method '" + run.method + "'" +
                       did_you_mean(run.method, registry.names()),
                   who);
      continue;
    }
    const Method& method = registry.get(run.method);
    bool undeclared = false;
    auto check_declared = [&](const SweepSetting& s, const char* hint) {
      if (s.key.rfind("method.", 0) != 0 || s.key == "method.name") return;
      const std::string setting = s.key.substr(7);
      if (declares(method, setting)) return;
      undeclared = true;
      problems.add(s.key_origin + ": " + s.key + ": " + run.method + " has no setting '" + setting + "'" +
                       did_you_mean(setting, method_keys(method)) + hint,
                   who);
    };
    for (const auto& s : spec.set)
      check_declared(s, "; to set it only for the methods that have it use [method_overrides.<method>]");
    for (const auto& s : variant) check_declared(s, "; vary it in a sweep (or [[list]]) of the methods that have it");
    if (undeclared) continue;

    run.overrides = common;
    if (auto it = spec.method_overrides.find(run.method); it != spec.method_overrides.end())
      for (const auto& s : it->second) run.overrides.push_back(to_override(s));
    run.overrides.insert(run.overrides.end(), axis_overrides.begin(), axis_overrides.end());
    try {
      const Experiment experiment = load_experiment(spec.base_path, run.overrides, catalog);
      run.resolved_toml = resolved_toml(experiment);
      run.id = config_id(experiment);
      run.threads = static_cast<int>(std::max<std::int64_t>(1, experiment.train.threads));
    } catch (const std::exception& e) {
      problems.add(e.what(), who);
      continue;
    }
    if (auto it = by_id.find(run.id); it != by_id.end()) {
      problems.add(spec.path + ": " + who + " and " + describe(run_variant[it->second], variants[run_variant[it->second]]) +
                   " resolve to the same configuration (id " + run.id +
                   "): an axis value equals another run's value or the default; remove one");
      continue;
    }
    by_id[run.id] = runs.size();
    run_variant.push_back(i);
    runs.push_back(std::move(run));
  }
  if (!problems.empty()) throw SweepError(problems.text());

  // Keys that vary across the sweep name the runs.
  std::vector<std::string> axis_keys;
  for (const auto& axis : spec.axes)
    for (const auto& key : axis.keys)
      if (std::find(axis_keys.begin(), axis_keys.end(), key) == axis_keys.end()) axis_keys.push_back(key);
  std::vector<std::string> varying_keys;
  for (const auto& key : axis_keys) {
    std::set<std::string> values;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      std::string value = "<base>";
      for (const auto& s : variants[run_variant[r]])
        if (s.key == key) value = s.value_text;
      values.insert(value);
    }
    if (values.size() > 1) varying_keys.push_back(key);
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (const auto& key : varying_keys)
      for (const auto& s : variants[run_variant[r]])
        if (s.key == key) runs[r].varying.emplace_back(key, s.value_text);
    runs[r].name = readable_run_label(runs[r].method, runs[r].varying) + "_" + runs[r].id.substr(0, 8);
  }
  return runs;
}

}  // namespace flowbp
