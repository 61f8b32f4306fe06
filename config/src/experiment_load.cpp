// Loading an experiment: TOML → located entries (file positions or override
// origins) → typed, range-checked values → the method's settings resolved by its
// plugin → the resolved table and the typed sections.
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <list>
#include <map>
#include <set>
#include <sstream>

#include "flowbp/config_schema.h"
#include "flowbp/did_you_mean.h"
#include "flowbp/experiment.h"
#include "flowbp/files.h"

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
  if (auto v = node.as_floating_point()) return "real " + format_config_value(v->get());
  if (auto v = node.as_string()) return "string " + format_config_value(v->get());
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
    entries.section_where[section] = where;
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

ConfigValue convert(const KeySpec& spec, const Located& at) {
  const toml::node& node = *at.node;
  auto wrong = [&]() {
    return error_at(at.where, spec.dotted(), "expected " + spec.expectation() + ", got " + describe(node));
  };
  switch (spec.type) {
    case KeyType::Bool:
      if (auto v = node.as_boolean()) return v->get();
      throw wrong();
    case KeyType::Int:
      if (auto v = node.as_integer()) return v->get();
      throw wrong();
    case KeyType::Real:
      if (auto v = node.as_floating_point()) return v->get();
      if (auto v = node.as_integer()) return static_cast<double>(v->get());
      throw wrong();
    case KeyType::String:
    case KeyType::Choice:
      if (auto v = node.as_string()) return v->get();
      throw wrong();
    case KeyType::IntList: {
      const toml::array* array = node.as_array();
      if (!array) throw wrong();
      std::vector<std::int64_t> out;
      for (const auto& element : *array) {
        auto v = element.as_integer();
        if (!v)
          throw error_at(at.where, spec.dotted(),
                         "expected " + spec.expectation() + ", got an array holding " + describe(element));
        out.push_back(v->get());
      }
      return out;
    }
  }
  throw wrong();
}

using Values = std::map<std::string, ConfigValue>;  // by dotted key

std::string where_of(const Entries& entries, const std::string& section, const std::string& name) {
  auto s = entries.by_section.find(section);
  if (s != entries.by_section.end()) {
    auto k = s->second.find(name);
    if (k != s->second.end()) return k->second.where;
  }
  auto w = entries.section_where.find(section);
  return w != entries.section_where.end() ? w->second : entries.source_name;
}

Values resolve_sections(const Entries& entries) {
  for (const auto& [section, keys] : entries.by_section) {
    if (section == "method") continue;
    for (const auto& [name, at] : keys)
      if (!find_key_spec(section, name))
        throw error_at(at.where, section + "." + name, "unknown key" + suggest_key(section, name));
  }
  Values values;
  for (const auto& spec : experiment_schema()) {
    ConfigValue value = spec.default_value;
    auto s = entries.by_section.find(spec.section);
    if (s != entries.by_section.end()) {
      auto k = s->second.find(spec.name);
      if (k != s->second.end()) {
        value = convert(spec, k->second);
        const std::string problem = spec.range_problem(value);
        if (!problem.empty()) throw error_at(k->second.where, spec.dotted(), problem);
      }
    }
    values[spec.dotted()] = value;
  }
  return values;
}

bool is_device_name(const std::string& s) {
  if (s == "cpu" || s == "cuda") return true;
  if (s.rfind("cuda:", 0) != 0 || s.size() == 5) return false;
  for (std::size_t i = 5; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// A model path as the user wrote it is relative to the experiment file's folder.
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

bool given(const Entries& entries, const std::string& section, const std::string& name) {
  auto s = entries.by_section.find(section);
  return s != entries.by_section.end() && s->second.count(name) > 0;
}

void check_torchscript(const Entries& entries, Values& values) {
  for (const char* key : {"velocity_model", "reward_model"}) {
    auto& path = std::get<std::string>(values.at(std::string("backbone.") + key));
    if (path.empty())
      throw error_at(where_of(entries, "backbone", "kind"), std::string("backbone.") + key,
                     "backbone.kind = \"torchscript\" needs the path of a TorchScript file (torch.jit.script(m).save(path))");
    path = absolute_from(entries.source_name, path);
  }
  if (std::get<std::vector<std::int64_t>>(values.at("backbone.latent_shape")).empty())
    throw error_at(where_of(entries, "backbone", given(entries, "backbone", "latent_shape") ? "latent_shape" : "kind"),
                   "backbone.latent_shape",
                   "backbone.kind = \"torchscript\" needs the shape of one sample, e.g. [4, 32, 32]");
  const double guidance = std::get<double>(values.at("sampling.guidance"));
  if (guidance != 1.0 && std::get<std::int64_t>(values.at("backbone.null_condition")) < 0)
    throw error_at(where_of(entries, "sampling", "guidance"), "sampling.guidance",
                   "guidance " + format_config_value(guidance) +
                       " needs an unconditional branch: set backbone.null_condition to the model's null id");
}

// Checks that involve more than one key or a key's own format.
void cross_check(const Entries& entries, Values& values) {
  const bool scripted = std::get<std::string>(values.at("backbone.kind")) == "torchscript";
  if (scripted) check_torchscript(entries, values);
  const char* count_key = scripted ? "backbone.conditions" : "backbone.classes";
  const auto classes = std::get<std::int64_t>(values.at(count_key));
  auto& held = std::get<std::vector<std::int64_t>>(values.at("eval.held_out_conditions"));
  if (held.empty()) {
    for (std::int64_t c = 0; c < classes; ++c) held.push_back(c);
  } else {
    std::set<std::int64_t> seen;
    const std::string where = where_of(entries, "eval", "held_out_conditions");
    for (auto c : held) {
      if (c >= classes)
        throw error_at(where, "eval.held_out_conditions",
                       "condition " + std::to_string(c) + " does not exist: " + count_key + " = " +
                           std::to_string(classes) + " gives conditions 0.." + std::to_string(classes - 1));
      if (!seen.insert(c).second)
        throw error_at(where, "eval.held_out_conditions", "condition " + std::to_string(c) + " is listed twice");
    }
  }
  const auto& device = std::get<std::string>(values.at("train.device"));
  if (!is_device_name(device))
    throw error_at(where_of(entries, "train", "device"), "train.device",
                   "'" + device + "' is not a device: expected \"cpu\", \"cuda\" or \"cuda:<index>\"" +
                       did_you_mean(device, {"cpu", "cuda"}));
}

struct MethodGiven {
  std::string name;
  std::map<std::string, ParamValue> settings;
};

MethodGiven method_given(const Entries& entries) {
  MethodGiven out{kDefaultMethod, {}};
  auto s = entries.by_section.find("method");
  if (s == entries.by_section.end()) return out;
  for (const auto& [name, at] : s->second) {
    const toml::node& node = *at.node;
    if (name == "name") {
      auto v = node.as_string();
      if (!v) throw error_at(at.where, "method.name", "expected a method name (string), got " + describe(node));
      out.name = v->get();
      continue;
    }
    if (auto v = node.as_boolean()) out.settings[name] = v->get();
    else if (auto i = node.as_integer()) out.settings[name] = i->get();
    else if (auto d = node.as_floating_point()) out.settings[name] = d->get();
    else if (auto str = node.as_string()) out.settings[name] = str->get();
    else throw error_at(at.where, "method." + name, "expected a bool, integer, real or string, got " + describe(node));
  }
  return out;
}

// Plugins name the offending key at the start of their messages ("method.K: …",
// "method.K = 9 must be …", "sampling.steps = 1: …"); that finds where the user wrote it.
std::pair<std::string, std::string> key_named_in(const std::string& message) {
  auto word_end = [&](std::size_t from) {
    while (from < message.size() && (std::isalnum(static_cast<unsigned char>(message[from])) || message[from] == '_'))
      ++from;
    return from;
  };
  const std::size_t dot = word_end(0);
  if (dot == 0 || dot >= message.size() || message[dot] != '.') return {};
  const std::string section = message.substr(0, dot);
  if (!is_known_section(section)) return {};
  const std::size_t end = word_end(dot + 1);
  if (end == dot + 1) return {};
  return {section, message.substr(dot + 1, end - dot - 1)};
}

ParamValues resolve_method(const Entries& entries, const MethodGiven& given, const Registry& registry,
                           std::int64_t steps, double shift) {
  const Method* method = nullptr;
  try {
    method = &registry.get(given.name);
  } catch (const SettingError& e) {
    throw error_at(where_of(entries, "method", "name"), "method.name", e.what());
  }
  try {
    return resolve_method_params(*method, given.settings, static_cast<int>(steps), shift);
  } catch (const SettingError& e) {
    const std::string message = e.what();
    const auto [section, key] = key_named_in(message);
    // The plugin's message already names the key; a user reading it wants the place and the method.
    const std::string where = section.empty() ? where_of(entries, "method", "name") : where_of(entries, section, key);
    const bool names_method = message.find("'" + given.name + "'") != std::string::npos;
    throw ConfigError(where + ": " + message + (names_method ? "" : " (method '" + given.name + "')"));
  }
}

ConfigValue param_to_config(const ParamValue& v) {
  return std::visit([](const auto& x) -> ConfigValue { return x; }, v);
}

void insert_value(toml::table& table, const std::string& key, const ConfigValue& value) {
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

void fill_typed(Experiment& e, const Values& v) {
  auto i = [&](const char* k) { return std::get<std::int64_t>(v.at(k)); };
  auto d = [&](const char* k) { return std::get<double>(v.at(k)); };
  auto s = [&](const char* k) { return std::get<std::string>(v.at(k)); };
  e.backbone = {s("backbone.kind"), i("backbone.dim"), i("backbone.classes"), i("backbone.modes_per_class"),
                d("backbone.mode_std"), i("backbone.hidden"), i("backbone.layers"), i("backbone.time_embed"),
                i("backbone.pretrain_steps"), i("backbone.pretrain_batch"), d("backbone.pretrain_lr"),
                d("backbone.p_uncond"), s("backbone.t_sampling"), s("backbone.cache_dir"),
                s("backbone.velocity_model"), s("backbone.reward_model"),
                std::get<std::vector<std::int64_t>>(v.at("backbone.latent_shape")), i("backbone.conditions"),
                i("backbone.null_condition")};
  e.sampling = {i("sampling.steps"), d("sampling.shift"), d("sampling.guidance")};
  e.reward = {s("reward.kind"), d("reward.tau"), d("reward.loss_scale"), d("reward.width"),
              d("reward.preferred_fraction")};
  e.train = {i("train.steps"), i("train.batch"), d("train.lr"), d("train.weight_decay"),
             d("train.max_grad_norm"), d("train.ema_decay"), i("train.seed"), i("train.eval_every"),
             i("train.checkpoint_every"), i("train.threads"), s("train.device"), s("train.autocast"),
             std::get<bool>(v.at("train.tf32")), i("train.dist_timeout_s")};
  e.eval = {i("eval.steps"), i("eval.samples_per_condition"),
            std::get<std::vector<std::int64_t>>(v.at("eval.held_out_conditions")), i("eval.noise_seed")};
}

Experiment build(const std::string& toml_text, const std::string& source_name,
                 const std::vector<Override>& overrides, const Registry* registry) {
  Entries entries;
  entries.source_name = source_name;
  try {
    entries.file = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(position(source_name, e.source()) + ": invalid TOML: " + std::string(e.description()));
  }
  collect_file(entries);
  apply_overrides(entries, overrides);
  Values values = resolve_sections(entries);
  cross_check(entries, values);
  const MethodGiven given = method_given(entries);

  Experiment e;
  e.source_path = source_name;
  e.method = given.name;
  if (registry) {
    e.method_params = resolve_method(entries, given, *registry, std::get<std::int64_t>(values.at("sampling.steps")),
                                     std::get<double>(values.at("sampling.shift")));
  } else {
    e.method_checked = false;
    for (const auto& [k, v] : given.settings) e.method_params.set(k, v);
  }
  fill_typed(e, values);

  for (const auto& section : experiment_sections()) e.resolved.insert_or_assign(section, toml::table{});
  for (const auto& [dotted, value] : values) {
    const auto dot = dotted.find('.');
    insert_value(*e.resolved[dotted.substr(0, dot)].as_table(), dotted.substr(dot + 1), value);
  }
  toml::table& method = *e.resolved["method"].as_table();
  method.insert_or_assign("name", e.method);
  for (const auto& [k, v] : e.method_params.all()) insert_value(method, k, param_to_config(v));
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

std::int64_t condition_count(const BackboneConfig& backbone) {
  return backbone.kind == "torchscript" ? backbone.conditions : backbone.classes;
}

Experiment parse_experiment(const std::string& toml_text, const std::string& source_name,
                            const std::vector<Override>& overrides, const Registry& registry) {
  return build(toml_text, source_name, overrides, &registry);
}

Experiment load_experiment(const std::string& path, const std::vector<Override>& overrides,
                           const Registry& registry) {
  return build(read_experiment_file(path), path, overrides, &registry);
}

Experiment load_experiment_unchecked(const std::string& path, const std::vector<Override>& overrides) {
  return build(read_experiment_file(path), path, overrides, nullptr);
}

}  // namespace flowbp
