// Loading an experiment: TOML → located entries (file positions or override
// origins) → typed, range-checked values of the fixed keys → the backbone and reward
// kinds and their own settings (from the catalog) → the method's settings resolved by
// its plugin → the resolved table and the typed sections.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <list>
#include <map>
#include <set>

#include "flowbp/config_schema.h"
#include "flowbp/did_you_mean.h"
#include "flowbp/experiment.h"
#include "flowbp/files.h"
#include "flowbp/text.h"
#include "flowbp/registry.h"

namespace flowbp {

namespace {

const char* const kDefaultMethod = "flowbp-lagrange";

// A value and where it was written: "file:line:col" or an override's origin.
struct Located {
  const toml::node* node = nullptr;
  std::string where;
};

struct Entries {
  std::string source_name;
  toml::table file;
  std::list<toml::table> override_tables;  // owners of the overrides' nodes
  std::map<std::string, std::map<std::string, Located>> by_section;
  std::map<std::string, std::string> section_where;
};

std::string position(const std::string& source_name, const toml::source_region& region) {
  if (region.begin.line == 0) return source_name;
  return source_name + ":" + std::to_string(region.begin.line) + ":" + std::to_string(region.begin.column);
}

ConfigError error_at(const std::string& where, const std::string& key, const std::string& problem) {
  return ConfigError(where + ": " + key + ": " + problem);
}

bool is_known_section(const std::string& name) {
  for (const auto& s : experiment_sections())
    if (s == name) return true;
  return false;
}

std::string describe(const toml::node& node) {
  if (auto v = node.as_boolean()) return std::string("bool ") + (v->get() ? "true" : "false");
  if (auto v = node.as_integer()) return "integer " + std::to_string(v->get());
  if (auto v = node.as_floating_point()) return "real " + format_value(v->get());
  if (auto v = node.as_string()) return "string " + abbreviated(format_value(v->get()));
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date/time";
}

void collect_file(Entries& entries) {
  for (const auto& [key, node] : entries.file) {
    const std::string section(key.str());
    const std::string where = position(entries.source_name, key.source());
    if (!is_known_section(section))
      throw error_at(where, section, "unknown section" + did_you_mean(section, experiment_sections()));
    const toml::table* table = node.as_table();
    if (!table) throw error_at(where, section, "expected a section [" + section + "], got " + describe(node));
    // A section's messages point at its header's first column, the '['.
    entries.section_where[section] =
        key.source().begin.line ? entries.source_name + ":" + std::to_string(key.source().begin.line) + ":1" : where;
    for (const auto& [name, value] : *table) {
      auto region = name.source().begin.line ? name.source() : value.source();
      entries.by_section[section][std::string(name.str())] = {&value, position(entries.source_name, region)};
    }
  }
}

// Values of overrides are TOML; anything that does not parse is a bare string.
const toml::node& override_node(Entries& entries, const std::string& text) {
  try {
    entries.override_tables.push_back(toml::parse("v = " + text));
    const toml::table& t = entries.override_tables.back();
    if (t.size() == 1 && t.contains("v")) return *t.get("v");
  } catch (const toml::parse_error&) {
  }
  toml::table t;
  t.insert("v", text);
  entries.override_tables.push_back(std::move(t));
  return *entries.override_tables.back().get("v");
}

void apply_overrides(Entries& entries, const std::vector<Override>& overrides) {
  for (const auto& o : overrides) {
    const auto dot = o.key.find('.');
    const std::string section = o.key.substr(0, dot);
    if (dot == std::string::npos || dot + 1 == o.key.size())
      throw error_at(o.origin, o.key, "an override needs a dotted key <section>.<key>, e.g. method.K");
    const std::string name = o.key.substr(dot + 1);
    if (!is_known_section(section))
      throw error_at(o.origin, o.key, "unknown section '" + section + "'" + did_you_mean(section, experiment_sections()));
    if (name.find('.') != std::string::npos)
      throw error_at(o.origin, o.key, "sections have no sub-tables; expected <section>.<key>");
    entries.by_section[section][name] = {&override_node(entries, o.value_text), o.origin};
  }
}

const Located* given_at(const Entries& entries, const std::string& section, const std::string& name) {
  auto s = entries.by_section.find(section);
  if (s == entries.by_section.end()) return nullptr;
  auto k = s->second.find(name);
  return k == s->second.end() ? nullptr : &k->second;
}

// Where a key was written; for a key left at its default, its section's header (or the file).
std::string where_of(const Entries& entries, const std::string& section, const std::string& name) {
  if (const Located* at = given_at(entries, section, name)) return at->where;
  auto w = entries.section_where.find(section);
  return w != entries.section_where.end() ? w->second : entries.source_name;
}

// Where the key a SettingError names was written.
std::string where_of_key(const Entries& entries, const std::string& dotted) {
  const auto dot = dotted.find('.');
  if (dot == std::string::npos) return entries.source_name;
  return where_of(entries, dotted.substr(0, dot), dotted.substr(dot + 1));
}

// The TOML value as a setting value (the spec converts it to its own type), or why not.
SettingValue value_of(const Located& at, const std::string& key, const SettingSpec* spec) {
  const toml::node& node = *at.node;
  if (auto v = node.as_boolean()) return v->get();
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_string()) return v->get();
  const std::string expected = spec ? "expected " + spec->expectation() : "expected a bool, integer, real, string or array of integers";
  if (const toml::array* array = node.as_array()) {
    std::vector<std::int64_t> out;
    for (const auto& element : *array) {
      auto v = element.as_integer();
      if (!v) throw error_at(at.where, key, expected + ", got an array holding " + describe(element));
      out.push_back(v->get());
    }
    return out;
  }
  throw error_at(at.where, key, expected + ", got " + describe(node));
}

// A path as the user wrote it is relative to the experiment file's folder.
std::string absolute_from(const std::string& experiment_file, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  const auto slash = experiment_file.rfind('/');
  std::string dir = slash == std::string::npos ? "" : experiment_file.substr(0, slash);
  if (dir.empty() || dir[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) dir = std::string(cwd) + (dir.empty() ? "" : "/" + dir);
  }
  std::string rest = path;
  while (rest.rfind("./", 0) == 0) rest = rest.substr(2);
  return dir + "/" + rest;
}

// One section's given keys against `specs`: unknown keys (`unknown` says what to add to
// the message), types, ranges, paths; defaults filled.
SettingValues resolve_section(const Entries& entries, const std::string& section,
                              const std::vector<SettingSpec>& specs,
                              const std::function<std::string(const std::string&)>& unknown) {
  SettingValues out;
  if (auto s = entries.by_section.find(section); s != entries.by_section.end())
    for (const auto& [name, at] : s->second)
      if (!find_setting(specs, name)) throw error_at(at.where, section + "." + name, unknown(name));
  for (const auto& spec : specs) {
    const std::string key = section + "." + spec.name;
    SettingValue value = spec.default_value;
    if (const Located* at = given_at(entries, section, spec.name)) {
      auto converted = spec.convert(value_of(*at, key, &spec));
      if (auto* problem = std::get_if<std::string>(&converted)) throw error_at(at->where, key, *problem);
      value = std::get<SettingValue>(converted);
      const std::string problem = spec.range_problem(value);
      if (!problem.empty()) throw error_at(at->where, key, problem);
    }
    if (spec.type == SettingType::Path) value = absolute_from(entries.source_name, std::get<std::string>(value));
    out.set(spec.name, std::move(value));
  }
  return out;
}

std::string unknown_fixed_key(const std::vector<SettingSpec>& specs, const std::string& name) {
  return "unknown key" + suggest_setting(specs, name);
}

// Concatenation of two spec lists.
std::vector<SettingSpec> joined(std::vector<SettingSpec> a, const std::vector<SettingSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The setting of some kind that `name` names or is an alias of, or nullptr.
const SettingSpec* named_by(const KindInfo& kind, const std::string& name) {
  for (const auto& spec : kind.settings)
    if (spec.name == name || std::find(spec.aliases.begin(), spec.aliases.end(), name) != spec.aliases.end())
      return &spec;
  return nullptr;
}

// A key of [backbone] or [reward] that the chosen kind lacks: say which kind has it, or
// which kind of the other section (a reward's model written under [backbone]).
std::string unknown_kind_key(const Catalog& catalog, const std::string& section, const KindInfo& kind,
                             const std::vector<SettingSpec>& specs, const std::string& name) {
  const bool backbone = section == "backbone";
  for (const auto& other : backbone ? catalog.backbones() : catalog.rewards())
    if (other.name != kind.name && find_setting(other.settings, name))
      return "not a setting of " + section + ".kind = \"" + kind.name + "\" (it belongs to \"" + other.name +
             "\"; `flowbp " + section + "s " + kind.name + "` lists the settings)";
  const std::string there = backbone ? "reward" : "backbone";
  if (suggest_setting(specs, name).empty())
    for (const auto& other : backbone ? catalog.rewards() : catalog.backbones())
      if (const SettingSpec* spec = named_by(other, name))
        return "not a setting of " + section + ".kind = \"" + kind.name + "\"; it is " + there + "." + spec->name +
               " of " + there + ".kind = \"" + other.name + "\"";
  return "unknown key for " + section + ".kind = \"" + kind.name + "\"" + suggest_setting(specs, name);
}

// The kind named by <section>.kind (given or `fallback`), checked against the catalog.
const KindInfo& chosen_kind(const Entries& entries, const std::string& section, const std::vector<KindInfo>& kinds,
                            const std::vector<std::string>& names, const std::string& fallback) {
  std::string name = fallback;
  if (const Located* at = given_at(entries, section, "kind")) {
    const SettingValue v = value_of(*at, section + ".kind", nullptr);
    if (!std::holds_alternative<std::string>(v))
      throw error_at(at->where, section + ".kind", "expected a " + section + " kind (string), got " + describe(*at->node));
    name = std::get<std::string>(v);
  }
  for (const auto& k : kinds)
    if (k.name == name) return k;
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  throw error_at(where_of(entries, section, "kind"), section + ".kind",
                 "'" + abbreviated(name) + "' is not one of {" + all + "}" + did_you_mean(name, names));
}

void run_kind_check(const Entries& entries, const KindInfo& kind, const SettingValues& settings,
                    const KindCheckContext& context) {
  if (!kind.check) return;
  try {
    kind.check(settings, context);
  } catch (const SettingError& e) {
    throw ConfigError(where_of_key(entries, e.key()) + ": " + e.what());
  }
}

bool is_device_name(const std::string& s) {
  if (s == "cpu" || s == "cuda") return true;
  if (s.rfind("cuda:", 0) != 0 || s.size() == 5) return false;
  for (std::size_t i = 5; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

void check_held_out(const Entries& entries, std::vector<std::int64_t>& held, std::int64_t conditions,
                    const std::string& count_key) {
  if (held.empty()) {
    for (std::int64_t c = 0; c < conditions; ++c) held.push_back(c);
    return;
  }
  std::set<std::int64_t> seen;
  const std::string where = where_of(entries, "eval", "held_out_conditions");
  for (auto c : held) {
    if (c >= conditions)
      throw error_at(where, "eval.held_out_conditions",
                     "condition " + std::to_string(c) + " does not exist: " + count_key + " gives conditions 0.." +
                         std::to_string(conditions - 1));
    if (!seen.insert(c).second)
      throw error_at(where, "eval.held_out_conditions", "condition " + std::to_string(c) + " is listed twice");
  }
}

struct MethodGiven {
  std::string name;
  std::string preset;  // method.preset, "" = none
  std::map<std::string, SettingValue> settings;
};

// Keys of [method] that record what method.preset set: written into every resolved
// configuration that names a preset, recomputed (never read) when one is loaded back.
bool is_preset_record(const std::string& key) { return key == "preset_values" || key == "preset_overridden"; }

MethodGiven method_given(const Entries& entries) {
  MethodGiven out{kDefaultMethod, "", {}};
  auto s = entries.by_section.find("method");
  if (s == entries.by_section.end()) return out;
  for (const auto& [name, at] : s->second) {
    const SettingValue v = value_of(at, "method." + name, nullptr);
    if (name == "name" || name == "preset" || is_preset_record(name)) {
      if (!std::holds_alternative<std::string>(v)) {
        const char* what = name == "name" ? "a method name (string)" : name == "preset" ? "a preset name (string)" : "a string";
        throw error_at(at.where, "method." + name, std::string("expected ") + what + ", got " + describe(*at.node));
      }
      if (name == "name") out.name = std::get<std::string>(v);
      if (name == "preset") out.preset = std::get<std::string>(v);
      continue;
    }
    out.settings[name] = v;
  }
  return out;
}

SettingValues resolve_method(const Entries& entries, const MethodGiven& given, const Registry& registry,
                             std::int64_t steps, double shift) {
  const Method* method = nullptr;
  try {
    method = &registry.get(given.name);
  } catch (const SettingError& e) {
    throw error_at(where_of(entries, "method", "name"), "method.name", e.what());
  }
  std::map<std::string, SettingValue> preset_values;
  try {
    if (!given.preset.empty())
      for (const auto& [name, value] : find_preset(*method, given.preset).values) preset_values[name] = value;
    return resolve_method_params(*method, given.preset, given.settings, static_cast<int>(steps), shift);
  } catch (const SettingError& e) {
    std::string message = e.what();
    std::string where = where_of_key(entries, e.key());
    // A value the preset set (not given explicitly) is reported where the preset was named.
    const std::string setting = e.key().rfind("method.", 0) == 0 ? e.key().substr(7) : "";
    // `nme = "refl"` is no setting of the method; it may be a misspelt key of [method] itself.
    if (given.settings.count(setting) && !find_setting(method->settings(), setting) &&
        message.find("did you mean") == std::string::npos)
      message += did_you_mean(setting, {"name", "preset"});
    if (preset_values.count(setting) && !given.settings.count(setting)) {
      where = where_of(entries, "method", "preset");
      message += " (set by method.preset = \"" + given.preset + "\")";
    }
    const bool names_method = message.find("'" + given.name + "'") != std::string::npos;
    throw ConfigError(where + ": " + message + (names_method ? "" : " (method '" + given.name + "')"));  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    // A plugin's own check that failed some other way: still name the method and the place.
    throw ConfigError(where_of(entries, "method", "name") + ": method.name: method '" + given.name +
                      "' refused this configuration: " + e.what());
  }
}

// "K beta": the names of the preset's settings whose resolved value is not the preset's
// (explicit settings override a preset).
std::string overridden_by_settings(const Method& method, const Preset& preset, const SettingValues& resolved) {
  const std::vector<SettingSpec> specs = method.settings();
  std::string out;
  for (const auto& [name, value] : preset.values) {
    const SettingSpec* spec = find_setting(specs, name);
    if (!spec || !resolved.has(name)) continue;
    const auto converted = spec->convert(value);
    const SettingValue* preset_value = std::get_if<SettingValue>(&converted);
    if (!preset_value || !(*preset_value == resolved.all().at(name))) out += (out.empty() ? "" : " ") + name;
  }
  return out;
}

void insert_value(toml::table& table, const std::string& key, const SettingValue& value) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::vector<std::int64_t>>) {
          toml::array a;
          for (auto x : v) a.push_back(x);
          table.insert_or_assign(key, std::move(a));
        } else {
          table.insert_or_assign(key, v);
        }
      },
      value);
}

void insert_all(toml::table& table, const SettingValues& values) {
  for (const auto& [name, value] : values.all()) insert_value(table, name, value);
}

SamplingConfig sampling_of(const SettingValues& v) {
  SamplingConfig s;
  s.steps = v.get_int("steps");
  s.shift = v.get_real("shift");
  s.guidance = v.get_real("guidance");
  s.cfg_attached = v.get_string("cfg_negative") == "attached";
  s.cfg_grad_compensation = v.get_bool("cfg_grad_compensation");
  s.time_shift.mode = v.get_string("shift_mode");
  s.time_shift.shift = s.shift;
  s.time_shift.base_shift = v.get_real("base_shift");
  s.time_shift.max_shift = v.get_real("max_shift");
  s.time_shift.base_seq_len = v.get_int("base_seq_len");
  s.time_shift.max_seq_len = v.get_int("max_seq_len");
  s.time_shift.image_seq_len = v.get_int("image_seq_len");
  return s;
}

TrainConfig train_of(const SettingValues& v) {
  TrainConfig t;
  t.steps = v.get_int("steps");
  t.batch = v.get_int("batch");
  t.lr = v.get_real("lr");
  t.weight_decay = v.get_real("weight_decay");
  t.max_grad_norm = v.get_real("max_grad_norm");
  t.ema_decay = v.get_real("ema_decay");
  t.lr_schedule = v.get_string("lr_schedule");
  t.warmup_steps = v.get_int("warmup_steps");
  t.lr_min_ratio = v.get_real("lr_min_ratio");
  t.grad_accumulation = v.get_int("grad_accumulation");
  t.ema = v.get_string("ema");
  t.seed = v.get_int("seed");
  t.eval_every = v.get_int("eval_every");
  t.checkpoint_every = v.get_int("checkpoint_every");
  t.threads = v.get_int("threads");
  t.device = v.get_string("device");
  t.autocast = v.get_string("autocast");
  t.tf32 = v.get_bool("tf32");
  t.dist_timeout_s = v.get_int("dist_timeout_s");
  return t;
}

EvalConfig eval_of(const SettingValues& v) {
  EvalConfig e;
  e.steps = v.get_int("steps");
  e.samples_per_condition = v.get_int("samples_per_condition");
  e.held_out_conditions = v.get_int_list("held_out_conditions");
  e.noise_seed = v.get_int("noise_seed");
  e.guidance = v.get_real("guidance");
  return e;
}

DiagnosticsConfig diagnostics_of(const SettingValues& v) {
  DiagnosticsConfig d;
  d.exact_grad_every = v.get_int("exact_grad_every");
  d.exact_grad_batch = v.get_int("exact_grad_batch");
  d.plan_draws = v.get_int("plan_draws");
  return d;
}

// eval.guidance = -1 (its default) is sampling.guidance; the resolved configuration
// holds the value, so a run's config.toml says what evaluation used.
void resolve_eval_guidance(const Entries& entries, Experiment& e, SettingValues& eval) {
  const double given = e.eval.guidance;
  if (given < 0 && given != -1.0)
    throw error_at(where_of(entries, "eval", "guidance"), "eval.guidance",
                   format_value(given) + " is out of range: expected a real in [0, 1000], or -1 for sampling.guidance");
  if (given == -1.0) e.eval.guidance = e.sampling.guidance;
  eval.set("guidance", e.eval.guidance);
}

// The shift's keys against each other; the image's token count from the backbone kind
// when sampling.image_seq_len is 0 and a dynamic mode needs it.
void resolve_time_shift(const Entries& entries, Experiment& e, SettingValues& sampling, const KindInfo& backbone_kind) {
  TimeShift& ts = e.sampling.time_shift;
  if (ts.is_static()) return;
  const std::string mode = "sampling.shift_mode = \"" + ts.mode + "\"";
  if (given_at(entries, "sampling", "shift") && e.sampling.shift != 1.0)
    throw error_at(where_of(entries, "sampling", "shift"), "sampling.shift",
                   format_value(e.sampling.shift) + " and " + mode +
                       " both set the schedule's shift; with a dynamic mode mu comes from sampling.image_seq_len "
                       "(leave sampling.shift at 1, or set shift_mode = \"static\")");
  if (ts.mode == "dynamic" && ts.base_seq_len == ts.max_seq_len)
    throw error_at(where_of(entries, "sampling", "max_seq_len"), "sampling.max_seq_len",
                   std::to_string(ts.max_seq_len) + " equals sampling.base_seq_len: the dynamic shift's line needs two "
                   "different sequence lengths");
  if (ts.image_seq_len == 0) {
    if (!backbone_kind.image_seq_len)
      throw error_at(where_of(entries, "sampling", "shift_mode"), "sampling.image_seq_len",
                     mode + " needs the image's token count: backbone.kind = \"" + backbone_kind.name +
                         "\" reports none, so set sampling.image_seq_len (1024 is a 512×512 image in FLUX's "
                         "16-pixel tokens)");
    ts.image_seq_len = backbone_kind.image_seq_len(e.backbone.settings);
    sampling.set("image_seq_len", ts.image_seq_len);
  }
}

void check_diagnostics(const Entries& entries, const Experiment& e) {
  const DiagnosticsConfig& d = e.diagnostics;
  if (!d.on()) {
    if (d.plan_draws > 1)
      throw error_at(where_of(entries, "diagnostics", "plan_draws"), "diagnostics.plan_draws",
                     std::to_string(d.plan_draws) + " plans are drawn on diagnostic steps only: set "
                     "diagnostics.exact_grad_every > 0 too");
    return;
  }
  if (d.exact_grad_batch > e.train.batch)
    throw error_at(where_of(entries, "diagnostics", "exact_grad_batch"), "diagnostics.exact_grad_batch",
                   std::to_string(d.exact_grad_batch) + " must be <= train.batch = " + std::to_string(e.train.batch) +
                       " (the sub-batch is the first samples of the step's batch)");
}

Experiment build(const std::string& toml_text, const std::string& source_name,
                 const std::vector<Override>& overrides, const Catalog& catalog) {
  Entries entries;
  entries.source_name = source_name;
  try {
    entries.file = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(position(source_name, e.source()) + ": invalid TOML: " + std::string(e.description()));
  }
  collect_file(entries);
  apply_overrides(entries, overrides);

  Experiment e;
  e.source_path = source_name;
  std::map<std::string, SettingValues> fixed;
  for (const char* section : {"sampling", "train", "eval", "diagnostics"}) {
    const auto specs = section_keys(section);
    fixed[section] = resolve_section(entries, section, specs,
                                     [&](const std::string& name) { return unknown_fixed_key(specs, name); });
  }
  e.sampling = sampling_of(fixed["sampling"]);
  e.train = train_of(fixed["train"]);
  e.eval = eval_of(fixed["eval"]);
  e.diagnostics = diagnostics_of(fixed["diagnostics"]);
  resolve_eval_guidance(entries, e, fixed["eval"]);
  check_diagnostics(entries, e);
  const KindCheckContext context{e.sampling.guidance, e.eval.guidance};

  // [backbone]: the kind first, then its own settings beside the common keys.
  const auto backbone_common = section_keys("backbone");
  const KindInfo& backbone_kind = chosen_kind(entries, "backbone", catalog.backbones(), catalog.backbone_names(),
                                              std::get<std::string>(backbone_common.front().default_value));
  const auto backbone_specs = joined(backbone_common, backbone_kind.settings);
  const SettingValues backbone_all = resolve_section(entries, "backbone", backbone_specs, [&](const std::string& n) {
    return unknown_kind_key(catalog, "backbone", backbone_kind, backbone_specs, n);
  });
  e.backbone.kind = backbone_kind.name;
  e.backbone.cache_dir = backbone_all.get_string("cache_dir");
  for (const auto& spec : backbone_kind.settings) e.backbone.settings.set(spec.name, backbone_all.all().at(spec.name));
  run_kind_check(entries, backbone_kind, e.backbone.settings, context);
  e.backbone.conditions = backbone_kind.conditions ? backbone_kind.conditions(e.backbone.settings) : 1;
  resolve_time_shift(entries, e, fixed["sampling"], backbone_kind);

  // [reward]: its kind defaults to what the backbone kind suggests, and must score that backbone.
  const auto reward_common = section_keys("reward");
  const KindInfo& reward_kind =
      chosen_kind(entries, "reward", catalog.rewards(), catalog.reward_names(), backbone_kind.default_reward);
  if (!reward_kind.backbones.empty() &&
      std::find(reward_kind.backbones.begin(), reward_kind.backbones.end(), backbone_kind.name) ==
          reward_kind.backbones.end()) {
    std::string all;
    for (const auto& b : reward_kind.backbones) all += (all.empty() ? "" : ", ") + b;
    throw error_at(where_of(entries, "reward", "kind"), "reward.kind",
                   "'" + reward_kind.name + "' scores samples of backbone kind {" + all + "}, not '" +
                       backbone_kind.name + "' (default for it: '" + backbone_kind.default_reward + "')");
  }
  const auto reward_specs = joined(reward_common, reward_kind.settings);
  const SettingValues reward_all = resolve_section(entries, "reward", reward_specs, [&](const std::string& n) {
    return unknown_kind_key(catalog, "reward", reward_kind, reward_specs, n);
  });
  e.reward.kind = reward_kind.name;
  e.reward.tau = reward_all.get_real("tau");
  e.reward.loss_scale = reward_all.get_real("loss_scale");
  for (const auto& spec : reward_kind.settings) e.reward.settings.set(spec.name, reward_all.all().at(spec.name));
  run_kind_check(entries, reward_kind, e.reward.settings, context);

  check_held_out(entries, e.eval.held_out_conditions, e.backbone.conditions,
                 "backbone.kind = \"" + backbone_kind.name + "\" (" + std::to_string(e.backbone.conditions) +
                     " conditions)");
  fixed["eval"].set("held_out_conditions", e.eval.held_out_conditions);
  if (!is_device_name(e.train.device))
    throw error_at(where_of(entries, "train", "device"), "train.device",
                   "'" + abbreviated(e.train.device) + "' is not a device: expected \"cpu\", \"cuda\" or \"cuda:<index>\"" +
                       did_you_mean(e.train.device, {"cpu", "cuda"}));

  const MethodGiven given = method_given(entries);
  e.method = given.name;
  e.method_preset = given.preset;
  if (catalog.methods()) {
    e.method_params =
        resolve_method(entries, given, *catalog.methods(), e.sampling.steps, e.sampling.shift_for(e.sampling.steps));
  } else {
    e.method_checked = false;
    for (const auto& [k, v] : given.settings) e.method_params.set(k, v);
  }

  for (const auto& section : experiment_sections()) e.resolved.insert_or_assign(section, toml::table{});
  insert_all(*e.resolved["backbone"].as_table(), backbone_all);
  insert_all(*e.resolved["reward"].as_table(), reward_all);
  insert_value(*e.resolved["reward"].as_table(), "kind", e.reward.kind);
  for (const auto& [section, values] : fixed) insert_all(*e.resolved[section].as_table(), values);
  toml::table& method = *e.resolved["method"].as_table();
  method.insert_or_assign("name", e.method);
  method.insert_or_assign("preset", e.method_preset);
  insert_all(method, e.method_params);
  if (!e.method_preset.empty() && catalog.methods()) {
    const Method& m = catalog.methods()->get(e.method);
    const Preset preset = find_preset(m, e.method_preset);
    method.insert_or_assign("preset_values", preset_values_text(preset));
    method.insert_or_assign("preset_overridden", overridden_by_settings(m, preset, e.method_params));
  }
  return e;
}

std::string read_experiment_file(const std::string& path) {
  if (is_directory(path))
    throw ConfigError(path + ": is a directory; give the experiment's .toml file (e.g. experiments/toy.toml)");
  try {
    return read_file(path);
  } catch (const std::runtime_error&) {
    throw ConfigError(path + ": cannot open the experiment file");
  }
}

}  // namespace

Experiment parse_experiment(const std::string& toml_text, const std::string& source_name,
                            const std::vector<Override>& overrides, const Catalog& catalog) {
  return build(toml_text, source_name, overrides, catalog);
}

Experiment load_experiment(const std::string& path, const std::vector<Override>& overrides, const Catalog& catalog) {
  return build(read_experiment_file(path), path, overrides, catalog);
}

}  // namespace flowbp
