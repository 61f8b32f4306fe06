// The experiment file's sections and keys outside [method]: one table that the
// loader validates against, the resolved TOML is written from, and docs/CONFIG.md
// documents (a test checks the document lists every key).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace flowbp {

enum class KeyType { Bool, Int, Real, String, Choice, IntList };
const char* to_string(KeyType type);

using ConfigValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>>;

struct KeySpec {
  std::string section;
  std::string name;
  KeyType type = KeyType::Real;
  ConfigValue default_value;  // an empty IntList default means "computed" (see help)
  std::optional<double> min;  // for Int, Real and IntList elements
  std::optional<double> max;
  bool min_exclusive = false;  // (min, …) rather than [min, …)
  std::vector<std::string> choices;  // for Choice
  std::string help;
  std::vector<std::string> aliases;  // names users reach for first ("learning_rate"): only for hints

  std::string dotted() const { return section + "." + name; }
  // "integer >= 1", "real in (0, inf)", "one of {uniform, logit_normal}" …
  std::string expectation() const;
  // Empty when the value is acceptable, else the problem ("is out of range …").
  std::string range_problem(const ConfigValue& value) const;
};

// Every key of every section except [method], in documentation order.
const std::vector<KeySpec>& experiment_schema();
// The section names, including "method".
std::vector<std::string> experiment_sections();
const KeySpec* find_key_spec(const std::string& section, const std::string& name);
std::vector<std::string> key_names(const std::string& section);
// " (did you mean 'lr'?)" for a misspelt key or a near miss of a common alias, else "".
std::string suggest_key(const std::string& section, const std::string& word);

// TOML text of a value, stable: shortest round-trip reals always with '.' or an exponent.
std::string format_config_value(const ConfigValue& value);

}  // namespace flowbp
