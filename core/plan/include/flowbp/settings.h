// One setting type for every key a user writes: a method plugin's hyper-parameters,
// a backbone or reward kind's settings and the experiment's own keys. A spec says the
// key's type, default, range and meaning; resolve_settings() checks what was given
// against the specs; SettingError carries the key it is about, so a caller can point
// at the file line or the --set that gave the value. Torch-free.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace flowbp {

enum class SettingType { Bool, Int, Real, String, Choice, IntList, Path };
const char* to_string(SettingType type);

// Path is a String whose relative value the experiment loader makes absolute against
// the experiment file's folder, so a run's resolved config stands on its own.
using SettingValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>>;

// TOML spelling: true, 3, 0.25 (always with '.' or an exponent), "text", [1, 2].
std::string format_value(const SettingValue& value);
// "bool", "integer", "real", "string", "array of integers".
std::string value_type_name(const SettingValue& value);

struct SettingSpec {
  std::string name;
  SettingType type = SettingType::Real;
  SettingValue default_value;
  std::optional<double> min;          // for Int, Real and IntList elements
  std::optional<double> max;
  bool min_exclusive = false;         // (min, …) rather than [min, …)
  std::vector<std::string> choices;   // for Choice
  std::string help;
  std::vector<std::string> aliases;   // names users reach for first ("learning_rate"): hints only

  static SettingSpec boolean(std::string name, bool def, std::string help);
  static SettingSpec integer(std::string name, std::int64_t def, std::optional<double> min,
                             std::optional<double> max, std::string help);
  static SettingSpec real(std::string name, double def, std::optional<double> min, std::optional<double> max,
                          std::string help);
  // A real > 0.
  static SettingSpec positive(std::string name, double def, std::string help);
  static SettingSpec choice(std::string name, std::string def, std::vector<std::string> choices, std::string help);
  static SettingSpec text(std::string name, std::string def, std::string help);
  static SettingSpec path(std::string name, std::string def, std::string help);
  // An empty default means "computed" (the help says how).
  static SettingSpec int_list(std::string name, std::optional<double> min, std::string help);
  SettingSpec with_aliases(std::vector<std::string> names) const;
  SettingSpec excluding_min() const;  // the same spec with (min, …) instead of [min, …)

  // "[0, 1]", "{a, b}", ">= 1", "> 0", "any": the range, short, for listings.
  std::string range_text() const;
  // "integer >= 1", "real in (0, inf)", "one of {uniform, logit_normal}": for messages.
  std::string expectation() const;
  // The value converted to this spec's type (an Int read as a Real, a whole Real as an
  // Int), or why it cannot be ("expected integer >= 1, got string \"x\"").
  std::variant<SettingValue, std::string> convert(const SettingValue& value) const;
  // Empty when the value (of this spec's type) is acceptable, else the problem.
  std::string range_problem(const SettingValue& value) const;
};

// A bad setting. what() is the message for the user as it is (it names the key);
// key() is the dotted key it is about ("method.K", "sampling.steps"), so a loader can
// say where that key was written without reading the message.
class SettingError : public std::runtime_error {
 public:
  SettingError(std::string key, const std::string& message);
  ~SettingError() override;
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// Resolved settings by name.
class SettingValues {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, SettingValue value) { values_[name] = std::move(value); }
  bool get_bool(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  double get_real(const std::string& name) const;  // accepts an Int too
  const std::string& get_string(const std::string& name) const;  // String, Path or Choice
  const std::string& get_choice(const std::string& name) const { return get_string(name); }
  const std::vector<std::int64_t>& get_int_list(const std::string& name) const;
  const std::map<std::string, SettingValue>& all() const { return values_; }
  bool operator==(const SettingValues& other) const { return values_ == other.values_; }

 private:
  const SettingValue& at(const std::string& name) const;
  std::map<std::string, SettingValue> values_;
};

// Fills defaults and checks names ("did you mean", aliases included), types and ranges.
// Keys in messages are prefix + "." + name (e.g. "method.K"); `owner` says whose
// settings they are, for the unknown-name message ("method 'flowbp-sparse'").
SettingValues resolve_settings(const std::vector<SettingSpec>& specs,
                               const std::map<std::string, SettingValue>& given, const std::string& prefix,
                               const std::string& owner);

// The spec named `name`, or nullptr.
const SettingSpec* find_setting(const std::vector<SettingSpec>& specs, const std::string& name);
// " (did you mean 'lr'?)" for a misspelt name or a near miss of an alias, else "".
std::string suggest_setting(const std::vector<SettingSpec>& specs, const std::string& word);

}  // namespace flowbp
