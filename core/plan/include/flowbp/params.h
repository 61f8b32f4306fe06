// Typed hyper-parameters that a method plugin declares, and the values a run
// resolves for them. Torch-free so plugins compile in a second.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace flowbp {

enum class ParamType { Bool, Int, Real, Choice };
const char* to_string(ParamType type);

using ParamValue = std::variant<bool, std::int64_t, double, std::string>;
std::string format_value(const ParamValue& value);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Real;
  ParamValue default_value;
  std::optional<double> min;           // inclusive, for Int and Real
  std::optional<double> max;           // inclusive, for Int and Real
  std::vector<std::string> choices;    // for Choice
  std::string help;

  static ParamSpec boolean(std::string name, bool def, std::string help);
  static ParamSpec integer(std::string name, std::int64_t def, std::optional<double> min,
                           std::optional<double> max, std::string help);
  static ParamSpec real(std::string name, double def, std::optional<double> min,
                        std::optional<double> max, std::string help);
  static ParamSpec choice(std::string name, std::string def, std::vector<std::string> choices,
                          std::string help);
  std::string range_text() const;  // "[0, 1]", "{a, b}", "≥ 1" …
};

// Thrown for any bad setting; the message is meant for the user as it is.
struct SettingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ParamValues {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, ParamValue value) { values_[name] = std::move(value); }
  bool get_bool(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  double get_real(const std::string& name) const;  // accepts an Int too
  const std::string& get_choice(const std::string& name) const;
  const std::map<std::string, ParamValue>& all() const { return values_; }

 private:
  const ParamValue& at(const std::string& name) const;
  std::map<std::string, ParamValue> values_;
};

// Fills defaults, checks names ("did you mean"), types and ranges. `where` prefixes
// every message (e.g. "experiments/toy.toml:14: method.K").
ParamValues resolve_params(const std::vector<ParamSpec>& specs,
                           const std::map<std::string, ParamValue>& given,
                           const std::string& method_name);

// Converts a value given as text (from --set or a TOML scalar) to the spec's type.
ParamValue parse_param_text(const ParamSpec& spec, const std::string& text);

}  // namespace flowbp
