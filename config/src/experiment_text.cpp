// The textual faces of an experiment: --set overrides in, canonical TOML, its id
// and the flat leaves for the run log out.
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "flowbp/experiment.h"

namespace flowbp {

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

SettingValue to_setting_value(const toml::node& node, const std::string& key) {
  if (auto v = node.as_boolean()) return v->get();
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_string()) return v->get();
  if (auto a = node.as_array()) {
    std::vector<std::int64_t> out;
    for (const auto& element : *a) {
      auto i = element.as_integer();
      if (!i) throw ConfigError(key + ": only arrays of integers can be written to a resolved configuration");
      out.push_back(i->get());
    }
    return out;
  }
  throw ConfigError(key + ": a resolved configuration holds only bools, numbers, strings and integer arrays");
}

bool is_bare_key(const std::string& key) {
  if (key.empty()) return false;
  for (unsigned char c : key)
    if (!std::isalnum(c) && c != '_' && c != '-') return false;
  return true;
}

std::string key_text(const std::string& key) {
  return is_bare_key(key) ? key : format_value(key);
}

}  // namespace

Override parse_override(const std::string& text, const std::string& origin) {
  const auto eq = text.find('=');
  const std::string key = eq == std::string::npos ? "" : trim(text.substr(0, eq));
  const std::string value = eq == std::string::npos ? "" : trim(text.substr(eq + 1));
  if (key.empty() || value.empty())
    throw ConfigError(origin + ": '" + text + "': expected <section>.<key>=<value>, e.g. method.K=4");
  return {key, value, origin};
}

std::string resolved_toml(const Experiment& experiment) {
  std::string out;
  for (const auto& [section_key, section_node] : experiment.resolved) {
    const std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    if (!table) throw ConfigError(section + ": a resolved configuration holds only sections at the top level");
    if (!out.empty()) out += "\n";
    out += "[" + key_text(section) + "]\n";
    for (const auto& [key, node] : *table) {
      const std::string name(key.str());
      out += key_text(name) + " = " + format_value(to_setting_value(node, section + "." + name)) + "\n";
    }
  }
  return out;
}

std::string config_id(const Experiment& experiment) {
  // FNV-1a 64: stable across platforms and builds, unlike std::hash.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : resolved_toml(experiment)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return std::string(buf, 12);
}

std::vector<std::pair<std::string, SettingValue>> Experiment::leaves() const {
  std::vector<std::pair<std::string, SettingValue>> out;
  for (const auto& [section_key, section_node] : resolved) {
    const std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    if (!table) continue;
    for (const auto& [key, node] : *table) {
      const std::string dotted = section + "." + std::string(key.str());
      SettingValue v = to_setting_value(node, dotted);
      SettingValue attr = std::visit(
          [&](const auto& x) -> SettingValue {
            using V = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<V, std::vector<std::int64_t>>) return format_value(x);
            else return x;
          },
          v);
      out.emplace_back(dotted, std::move(attr));
    }
  }
  return out;
}

std::string resolved_cache_dir(const BackboneConfig& backbone) {
  if (!backbone.cache_dir.empty()) return backbone.cache_dir;
  if (const char* env = std::getenv("FLOWBP_CACHE_DIR"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/flowbp";
  return ".flowbp-cache";
}

}  // namespace flowbp
