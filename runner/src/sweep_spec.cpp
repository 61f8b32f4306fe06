// Parsing a sweep file into a SweepSpec: the sweep's own structure only. The
// runs themselves are validated by resolve_sweep (sweep_resolve.cpp).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "flowbp/config_schema.h"
#include "flowbp/did_you_mean.h"
#include "flowbp/files.h"
#include "flowbp/sweep.h"
#include "toml_text.h"

namespace flowbp {
namespace fs = std::filesystem;
using namespace sweep_detail;

namespace {

const std::vector<std::string> kTopKeys = {"base", "name", "description", "set", "grid", "zip", "list",
                                           "method_overrides"};

// A leaf of a (possibly nested) table, by dotted key, with its node.
struct Leaf {
  std::string key;
  const toml::node* node;
};

class Parser {
 public:
  Parser(std::string file, const Catalog& catalog) : file_(std::move(file)), catalog_(catalog) {}

  SweepSpec parse(const toml::table& root, const std::string& path) {
    SweepSpec spec;
    spec.path = path;
    spec.name = fs::path(path).stem().string();
    for (const auto& [k, node] : root) {
      const std::string key(k.str());
      if (std::find(kTopKeys.begin(), kTopKeys.end(), key) == kTopKeys.end())
        problem(node, key, "unknown sweep key" + did_you_mean(key, kTopKeys) +
                               "; a sweep has base, name, description, [set], [[grid]], [[zip]], "
                               "[[list]] and [method_overrides.<method>]");
    }
    parse_header(root, spec);
    if (auto t = root.get("set")) {
      if (!t->is_table()) {
        problem(*t, "set", "must be a table ([set]), not " + toml_type_name(*t));
      } else {
        for (const auto& leaf : flatten(*t->as_table(), "")) {
          if (leaf.node->is_table()) continue;
          const std::string where = origin_of(file_, *leaf.node);
          if (check_key(leaf)) spec.set.push_back({leaf.key, toml_value_text(*leaf.node), where, where});
        }
      }
    }
    // Axes keep their order in the file: toml++ groups arrays of tables by name.
    std::vector<std::pair<const toml::table*, std::string>> blocks;
    for (const char* kind : {"grid", "zip", "list"}) {
      const toml::node* n = root.get(kind);
      if (!n) continue;
      const toml::array* arr = n->as_array();
      if (!arr) {
        problem(*n, kind, std::string("must be an array of tables ([[") + kind + "]])");
        continue;
      }
      for (const auto& el : *arr) {
        if (!el.is_table()) {
          problem(el, kind, std::string("each entry must be a table ([[") + kind + "]])");
          continue;
        }
        blocks.emplace_back(el.as_table(), kind);
      }
    }
    std::stable_sort(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
      return position(*a.first) < position(*b.first);
    });
    for (const auto& [table, kind] : blocks) {
      SweepAxis axis;
      axis.kind = kind;
      axis.origin = origin_of(file_, *table);
      bool ok = kind == "grid" ? parse_grid(*table, axis) : kind == "zip" ? parse_zip(*table, axis)
                                                                           : parse_list(*table, axis);
      if (ok) spec.axes.push_back(std::move(axis));
    }
    parse_method_overrides(root, spec);
    check_conflicts(spec);
    return spec;
  }

  void throw_if_problems() const {
    if (problems_.empty()) return;
    std::string msg;
    for (const auto& p : problems_) msg += (msg.empty() ? "" : "\n") + p;
    throw SweepError(msg);
  }

 private:
  static std::pair<std::uint32_t, std::uint32_t> position(const toml::node& n) {
    return {n.source().begin.line, n.source().begin.column};
  }

  void problem(const toml::node& node, const std::string& key, const std::string& what) {
    problems_.push_back(origin_of(file_, node) + ": " + key + ": " + what);
  }
  void problem_at(const std::string& origin, const std::string& key, const std::string& what) {
    problems_.push_back(origin + ": " + key + ": " + what);
  }

  void parse_header(const toml::table& root, SweepSpec& spec) {
    const toml::node* base = root.get("base");
    if (!base) {
      problems_.push_back(file_ + ":1:1: base: missing: a sweep names its base experiment, e.g. "
                          "base = \"../experiments/toy.toml\" (relative to the sweep file)");
    } else if (!base->is_string()) {
      problem(*base, "base", "must be a string path, not " + toml_type_name(*base));
    } else {
      fs::path p = base->as_string()->get();
      if (p.is_relative()) p = fs::path(spec.path).parent_path() / p;
      spec.base_path = p.lexically_normal().string();
      if (!fs::is_regular_file(spec.base_path))
        problem(*base, "base", fs::is_directory(spec.base_path)
                                    ? "'" + spec.base_path + "' is a directory; give the base experiment's .toml file"
                                    : "no such file '" + spec.base_path + "'");
    }
    for (const char* k : {"name", "description"}) {
      const toml::node* n = root.get(k);
      if (!n) continue;
      if (!n->is_string()) {
        problem(*n, k, "must be a string, not " + toml_type_name(*n));
        continue;
      }
      (std::string(k) == "name" ? spec.name : spec.description) = n->as_string()->get();
    }
    if (spec.name.empty() || spec.name.find_first_not_of(
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
                                 std::string::npos) {
      const toml::node* n = root.get("name");
      problem_at(n ? origin_of(file_, *n) : file_ + ":1:1", "name",
                 "'" + spec.name + "' must be non-empty and use only letters, digits, '.', '_' and '-'");
    }
  }

  // Dotted leaves of a table: quoted keys ("train.steps" = 1) and nested tables
  // (train.steps = 1, or [set.train]) spell the same thing.
  std::vector<Leaf> flatten(const toml::table& table, const std::string& prefix) {
    std::vector<Leaf> out;
    for (const auto& [k, node] : table) {
      const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      if (const toml::table* sub = node.as_table()) {
        auto inner = flatten(*sub, key);
        out.insert(out.end(), inner.begin(), inner.end());
      } else {
        out.push_back({key, &node});
      }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Leaf& a, const Leaf& b) { return position(*a.node) < position(*b.node); });
    if (prefix.empty()) {  // "a.b" = 1 and a.b = 2 are different TOML keys but the same setting
      std::set<std::string> seen;
      for (const auto& leaf : out)
        if (!seen.insert(leaf.key).second) problem(*leaf.node, leaf.key, "set twice in the same table");
    }
    return out;
  }

  // Sections and non-method keys against the experiment schema; method settings
  // are checked per run against the plugin (resolve_sweep).
  bool check_key(const Leaf& leaf) {
    const std::string& key = leaf.key;
    const auto dot = key.find('.');
    const std::vector<std::string> sections = experiment_sections();
    if (dot == std::string::npos) {
      std::vector<std::string> dotted;
      for (const auto& section : sections)
        if (section != "method")
          for (const auto& spec : possible_keys(section, catalog_)) dotted.push_back(section + "." + spec.name);
      problem(*leaf.node, key, "not a dotted experiment key (section.key)" + did_you_mean(key, dotted));
      return false;
    }
    const std::string section = key.substr(0, dot), name = key.substr(dot + 1);
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      problem(*leaf.node, key, "unknown section '" + section + "'" + did_you_mean(section, sections));
      return false;
    }
    if (section == "method") {
      if (name.find('.') != std::string::npos) {
        problem(*leaf.node, key, "method settings are not nested");
        return false;
      }
      return true;
    }
    const std::vector<SettingSpec> keys = possible_keys(section, catalog_);
    if (!find_setting(keys, name)) {
      problem(*leaf.node, key, "unknown key '" + name + "' in [" + section + "]" + suggest_setting(keys, name));
      return false;
    }
    return true;
  }

  // The values of one axis key: a non-empty array without repeats.
  bool axis_values(const Leaf& leaf, const std::string& kind, std::vector<SweepSetting>& out) {
    const toml::array* arr = leaf.node->as_array();
    if (!arr) {
      problem(*leaf.node, leaf.key, "a [[" + kind + "]] key takes an array of values, e.g. " + leaf.key +
                                        " = [" + toml_value_text(*leaf.node) + ", ...], not a single " +
                                        toml_type_name(*leaf.node));
      return false;
    }
    if (arr->empty()) {
      problem(*leaf.node, leaf.key, "empty axis: give at least one value");
      return false;
    }
    std::set<std::string> seen;
    bool ok = true;
    for (const auto& v : *arr) {
      if (v.is_table()) {
        problem(v, leaf.key, "an axis value cannot be a table");
        ok = false;
        continue;
      }
      const std::string text = toml_value_text(v);
      if (!seen.insert(text).second) {
        problem(v, leaf.key, "the value " + text + " is listed twice (it would give duplicate runs)");
        ok = false;
      }
      out.push_back({leaf.key, text, origin_of(file_, v), origin_of(file_, *leaf.node)});
    }
    return ok;
  }

  bool parse_grid(const toml::table& table, SweepAxis& axis) {
    const auto leaves = flatten(table, "");
    if (leaves.empty()) {
      problem(table, "[[grid]]", "empty block: give at least one key = [values]");
      return false;
    }
    bool ok = true;
    std::vector<std::vector<SweepSetting>> columns;
    for (const auto& leaf : leaves) {
      std::vector<SweepSetting> values;
      ok = check_key(leaf) && axis_values(leaf, "grid", values) && ok;
      axis.keys.push_back(leaf.key);
      columns.push_back(std::move(values));
    }
    if (!ok) return false;
    axis.variants = {Variant{}};
    for (const auto& column : columns) {
      std::vector<Variant> next;
      for (const auto& prefix : axis.variants)
        for (const auto& value : column) {
          Variant v = prefix;
          v.push_back(value);
          next.push_back(std::move(v));
        }
      axis.variants = std::move(next);
    }
    return true;
  }

  bool parse_zip(const toml::table& table, SweepAxis& axis) {
    const auto leaves = flatten(table, "");
    if (leaves.empty()) {
      problem(table, "[[zip]]", "empty block: give keys = [values] of equal length");
      return false;
    }
    bool ok = true;
    std::vector<std::vector<SweepSetting>> columns;
    for (const auto& leaf : leaves) {
      std::vector<SweepSetting> values;
      ok = check_key(leaf) && axis_values(leaf, "zip", values) && ok;
      axis.keys.push_back(leaf.key);
      columns.push_back(std::move(values));
    }
    if (!ok) return false;
    for (std::size_t c = 1; c < columns.size(); ++c) {
      if (columns[c].size() != columns[0].size()) {
        problem(*leaves[c].node, leaves[c].key,
                "[[zip]] lists must have equal lengths: " + std::to_string(columns[c].size()) +
                    " values here but " + std::to_string(columns[0].size()) + " for '" + leaves[0].key +
                    "' at " + origin_of(file_, *leaves[0].node));
        ok = false;
      }
    }
    if (!ok) return false;
    for (std::size_t i = 0; i < columns[0].size(); ++i) {
      Variant v;
      for (const auto& column : columns) v.push_back(column[i]);
      axis.variants.push_back(std::move(v));
    }
    return true;
  }

  bool parse_list(const toml::table& table, SweepAxis& axis) {
    for (const auto& [k, node] : table)
      if (k.str() != "variants")
        problem(node, std::string(k.str()),
                "unknown key in [[list]]" + did_you_mean(std::string(k.str()), {"variants"}) +
                    "; a [[list]] holds variants = [ { \"method.K\" = 2, ... }, ... ]");
    const toml::node* n = table.get("variants");
    if (!n) {
      problem(table, "[[list]]", "missing variants = [ {...}, ... ]");
      return false;
    }
    const toml::array* arr = n->as_array();
    if (!arr || arr->empty()) {
      problem(*n, "variants", arr ? "empty axis: give at least one variant" : "must be an array of tables");
      return false;
    }
    bool ok = true;
    std::set<std::string> seen;
    for (const auto& el : *arr) {
      const toml::table* t = el.as_table();
      if (!t) {
        problem(el, "variants", "each variant is a table, e.g. { \"method.K\" = 2 }, not " + toml_type_name(el));
        ok = false;
        continue;
      }
      Variant v;
      std::string signature;
      for (const auto& leaf : flatten(*t, "")) {
        if (!check_key(leaf)) {
          ok = false;
          continue;
        }
        if (std::find(axis.keys.begin(), axis.keys.end(), leaf.key) == axis.keys.end()) axis.keys.push_back(leaf.key);
        const std::string where = origin_of(file_, *leaf.node);
        v.push_back({leaf.key, toml_value_text(*leaf.node), where, where});
      }
      std::vector<std::string> parts;
      for (const auto& s : v) parts.push_back(s.key + "=" + s.value_text);
      std::sort(parts.begin(), parts.end());
      for (const auto& p : parts) signature += p + ";";
      if (!seen.insert(signature).second) {
        problem(el, "variants", "this variant is listed twice (it would give duplicate runs)");
        ok = false;
      }
      axis.variants.push_back(std::move(v));
    }
    return ok;
  }

  void parse_method_overrides(const toml::table& root, SweepSpec& spec) {
    const toml::node* n = root.get("method_overrides");
    if (!n) return;
    const toml::table* t = n->as_table();
    if (!t) {
      problem(*n, "method_overrides", "must be tables [method_overrides.<method>] of method settings");
      return;
    }
    for (const auto& [m, node] : *t) {
      const std::string method(m.str());
      const toml::table* settings = node.as_table();
      if (!settings) {
        problem(node, "method_overrides." + method,
                "must be a table of settings, e.g. [method_overrides." + method + "] K = 4");
        continue;
      }
      auto& out = spec.method_overrides[method];
      for (const auto& [k, value] : *settings) {
        const std::string key(k.str());
        if (value.is_table()) {
          problem(value, "method_overrides." + method + "." + key, "method settings are not nested");
        } else if (key == "name") {
          problem(value, "method_overrides." + method + ".name",
                  "cannot change the method; the table's name already says which method it applies to");
        } else {
          const std::string where = origin_of(file_, value);
          out.push_back({"method." + key, toml_value_text(value), where, where});
        }
      }
    }
  }

  // Every key has one source per run: [set] or one axis block. A method override
  // may refine a [set] value, but not a key an axis varies.
  void check_conflicts(const SweepSpec& spec) {
    std::map<std::string, std::string> owner;  // key -> where it is set
    for (const auto& s : spec.set) owner[s.key] = "[set] at " + s.origin;
    for (const auto& axis : spec.axes) {
      for (const auto& key : axis.keys) {
        auto it = owner.find(key);
        if (it != owner.end()) {
          problem_at(axis.origin, key, "set twice: in this [[" + axis.kind + "]] and in " + it->second);
        } else {
          owner[key] = "[[" + axis.kind + "]] at " + axis.origin;
        }
      }
    }
    for (const auto& [method, settings] : spec.method_overrides)
      for (const auto& s : settings)
        for (const auto& axis : spec.axes)
          if (std::find(axis.keys.begin(), axis.keys.end(), s.key) != axis.keys.end())
            problem_at(s.origin, s.key,
                       "method override of a key that the [[" + axis.kind + "]] at " + axis.origin +
                           " varies; vary it there or drop the override");
  }

  std::string file_;
  std::vector<std::string> problems_;
  const Catalog& catalog_;
};

}  // namespace

SweepSpec parse_sweep(const std::string& toml_text, const std::string& source_name, const Catalog& catalog) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw SweepError(source_name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                     ": malformed TOML: " + std::string(e.description()));
  }
  Parser parser(source_name, catalog);
  SweepSpec spec = parser.parse(root, source_name);
  parser.throw_if_problems();
  return spec;
}

SweepSpec parse_sweep_file(const std::string& path, const Catalog& catalog) {
  if (is_directory(path)) throw SweepError(path + ": is a directory; give the sweep's .toml file (e.g. sweeps/quick.toml)");
  std::string text;
  try {
    text = read_file(path);
  } catch (const std::runtime_error&) {
    throw SweepError(path + ": cannot open the sweep file");
  }
  return parse_sweep(text, path, catalog);
}

std::vector<Variant> expand_axes(const SweepSpec& spec) {
  std::vector<Variant> runs = {Variant{}};
  for (const auto& axis : spec.axes) {
    std::vector<Variant> next;
    next.reserve(runs.size() * axis.variants.size());
    for (const auto& prefix : runs)
      for (const auto& variant : axis.variants) {
        Variant v = prefix;
        v.insert(v.end(), variant.begin(), variant.end());
        next.push_back(std::move(v));
      }
    runs = std::move(next);
  }
  return runs;
}

}  // namespace flowbp
