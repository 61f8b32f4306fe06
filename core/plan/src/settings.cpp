#include "flowbp/settings.h"

#include <cmath>
#include <sstream>

#include "flowbp/did_you_mean.h"
#include "flowbp/text.h"

namespace flowbp {

const char* to_string(SettingType type) {
  switch (type) {
    case SettingType::Bool: return "bool";
    case SettingType::Int: return "integer";
    case SettingType::Real: return "real";
    case SettingType::String: return "string";
    case SettingType::Choice: return "choice";
    case SettingType::IntList: return "array of integers";
    case SettingType::Path: return "path";
  }
  return "?";
}

std::string format_value(const SettingValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, std::int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<V, double>) return toml_real(v);
        else if constexpr (std::is_same_v<V, std::string>) return quoted(v);
        else {
          std::string out = "[";
          for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
          return out + "]";
        }
      },
      value);
}

std::string value_type_name(const SettingValue& value) {
  switch (value.index()) {
    case 0: return "bool";
    case 1: return "integer";
    case 2: return "real";
    case 3: return "string";
    default: return "array of integers";
  }
}

namespace {

SettingSpec make(std::string name, SettingType type, SettingValue def, std::string help) {
  SettingSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(def);
  s.help = std::move(help);
  return s;
}

std::string number_text(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  // Whole bounds as integers (1000000000, not 1e+09): what a user would type.
  if (std::floor(x) == x && std::fabs(x) < 1e15) return std::to_string(static_cast<long long>(x));
  std::ostringstream out;
  out << x;
  return out.str();
}

bool is_numeric(SettingType t) { return t == SettingType::Int || t == SettingType::Real || t == SettingType::IntList; }

}  // namespace

SettingSpec SettingSpec::boolean(std::string name, bool def, std::string help) {
  return make(std::move(name), SettingType::Bool, def, std::move(help));
}

SettingSpec SettingSpec::integer(std::string name, std::int64_t def, std::optional<double> min,
                                 std::optional<double> max, std::string help) {
  SettingSpec s = make(std::move(name), SettingType::Int, def, std::move(help));
  s.min = min;
  s.max = max;
  return s;
}

SettingSpec SettingSpec::real(std::string name, double def, std::optional<double> min, std::optional<double> max,
                              std::string help) {
  SettingSpec s = make(std::move(name), SettingType::Real, def, std::move(help));
  s.min = min;
  s.max = max;
  return s;
}

SettingSpec SettingSpec::positive(std::string name, double def, std::string help) {
  SettingSpec s = real(std::move(name), def, 0.0, std::nullopt, std::move(help));
  s.min_exclusive = true;
  return s;
}

SettingSpec SettingSpec::choice(std::string name, std::string def, std::vector<std::string> choices,
                                std::string help) {
  SettingSpec s = make(std::move(name), SettingType::Choice, std::move(def), std::move(help));
  s.choices = std::move(choices);
  return s;
}

SettingSpec SettingSpec::text(std::string name, std::string def, std::string help) {
  return make(std::move(name), SettingType::String, std::move(def), std::move(help));
}

SettingSpec SettingSpec::path(std::string name, std::string def, std::string help) {
  return make(std::move(name), SettingType::Path, std::move(def), std::move(help));
}

SettingSpec SettingSpec::int_list(std::string name, std::optional<double> min, std::string help) {
  SettingSpec s = make(std::move(name), SettingType::IntList, std::vector<std::int64_t>{}, std::move(help));
  s.min = min;
  return s;
}

SettingSpec SettingSpec::with_aliases(std::vector<std::string> names) const {
  SettingSpec s = *this;
  s.aliases = std::move(names);
  return s;
}

SettingSpec SettingSpec::excluding_min() const {
  SettingSpec s = *this;
  s.min_exclusive = true;
  return s;
}

std::string SettingSpec::range_text() const {
  if (type == SettingType::Choice) {
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : ", ") + c;
    return "{" + all + "}";
  }
  if (type == SettingType::Bool) return "{true, false}";
  if (!is_numeric(type)) return "any";
  const std::string lo = min ? number_text(*min) : "", hi = max ? number_text(*max) : "";
  if (min && max) return std::string(min_exclusive ? "(" : "[") + lo + ", " + hi + "]";
  if (min) return (min_exclusive ? "> " : ">= ") + lo;
  if (max) return "<= " + hi;
  return "any";
}

std::string SettingSpec::expectation() const {
  if (type == SettingType::Choice) return "one of " + range_text();
  std::string what = type == SettingType::Path ? "string" : to_string(type);
  if (!is_numeric(type) || (!min && !max)) return what;
  if (type == SettingType::IntList) what += " each";
  if (min && max) return what + " in " + range_text();
  return what + " " + range_text();
}

std::variant<SettingValue, std::string> SettingSpec::convert(const SettingValue& value) const {
  const auto wrong = [&]() -> std::string {
    return "expected " + expectation() + ", got " + value_type_name(value) + " " + abbreviated(format_value(value));
  };
  switch (type) {
    case SettingType::Bool:
      if (std::holds_alternative<bool>(value)) return value;
      return wrong();
    case SettingType::Int:
      if (std::holds_alternative<std::int64_t>(value)) return value;
      // A whole real (e.g. 1e3 written in a sweep) reads as the integer it spells.
      if (auto d = std::get_if<double>(&value); d && std::isfinite(*d) && std::floor(*d) == *d &&
                                                  std::fabs(*d) < 9.2e18)
        return SettingValue{static_cast<std::int64_t>(*d)};
      return wrong();
    case SettingType::Real:
      if (std::holds_alternative<double>(value)) return value;
      if (auto i = std::get_if<std::int64_t>(&value)) return SettingValue{static_cast<double>(*i)};
      return wrong();
    case SettingType::String:
    case SettingType::Path:
    case SettingType::Choice:
      if (std::holds_alternative<std::string>(value)) return value;
      return wrong();
    case SettingType::IntList:
      if (std::holds_alternative<std::vector<std::int64_t>>(value)) return value;
      return wrong();
  }
  return wrong();
}

std::string SettingSpec::range_problem(const SettingValue& value) const {
  const auto outside = [&](double x) {
    return !std::isfinite(x) || (min && (min_exclusive ? x <= *min : x < *min)) || (max && x > *max);
  };
  if (auto i = std::get_if<std::int64_t>(&value)) {
    if (outside(static_cast<double>(*i))) return std::to_string(*i) + " is out of range: expected " + expectation();
  } else if (auto d = std::get_if<double>(&value)) {
    if (outside(*d)) return toml_real(*d) + " is out of range: expected " + expectation();
  } else if (auto list = std::get_if<std::vector<std::int64_t>>(&value)) {
    for (auto x : *list)
      if (outside(static_cast<double>(x)))
        return "element " + std::to_string(x) + " is out of range: expected " + expectation();
  } else if (auto s = std::get_if<std::string>(&value); s && type == SettingType::Choice) {
    for (const auto& c : choices)
      if (c == *s) return "";
    return "'" + abbreviated(*s) + "' is not " + expectation() + did_you_mean(*s, choices);
  }
  return "";
}

SettingError::SettingError(std::string key, const std::string& message)
    : std::runtime_error(message), key_(std::move(key)) {}

SettingError::~SettingError() = default;

const SettingValue& SettingValues::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw SettingError(name, "setting '" + name + "' was never resolved");
  return it->second;
}

bool SettingValues::get_bool(const std::string& name) const { return std::get<bool>(at(name)); }
std::int64_t SettingValues::get_int(const std::string& name) const { return std::get<std::int64_t>(at(name)); }
double SettingValues::get_real(const std::string& name) const {
  const auto& v = at(name);
  if (auto i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
const std::string& SettingValues::get_string(const std::string& name) const { return std::get<std::string>(at(name)); }
const std::vector<std::int64_t>& SettingValues::get_int_list(const std::string& name) const {
  return std::get<std::vector<std::int64_t>>(at(name));
}

const SettingSpec* find_setting(const std::vector<SettingSpec>& specs, const std::string& name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

std::string suggest_setting(const std::vector<SettingSpec>& specs, const std::string& word) {
  std::vector<std::string> candidates, targets;  // what each candidate suggests
  // Names before aliases: on a tie the closest match is the first, and a key's own name
  // ("hidden" of the toy) must beat another kind's alias of it ("hidden" for the DiT's width).
  for (const auto& spec : specs) {
    candidates.push_back(spec.name);
    targets.push_back(spec.name);
  }
  for (const auto& spec : specs)
    for (const auto& alias : spec.aliases) {
      candidates.push_back(alias);
      targets.push_back(spec.name);
    }
  const std::string best = closest_match(word, candidates);
  for (std::size_t i = 0; i < candidates.size() && !best.empty(); ++i)
    if (candidates[i] == best) return " (did you mean '" + targets[i] + "'?)";
  return "";
}

SettingValues resolve_settings(const std::vector<SettingSpec>& specs,
                               const std::map<std::string, SettingValue>& given, const std::string& prefix,
                               const std::string& owner) {
  for (const auto& [name, value] : given) {
    (void)value;
    if (!find_setting(specs, name))
      throw SettingError(prefix + "." + name, prefix + "." + abbreviated(name) + ": unknown setting for " + owner +
                                                  suggest_setting(specs, name));
  }
  SettingValues out;
  for (const auto& spec : specs) {
    const std::string key = prefix + "." + spec.name;
    SettingValue value = spec.default_value;
    if (auto it = given.find(spec.name); it != given.end()) {
      auto converted = spec.convert(it->second);
      if (auto* problem = std::get_if<std::string>(&converted)) throw SettingError(key, key + ": " + *problem);
      value = std::get<SettingValue>(converted);
      const std::string problem = spec.range_problem(value);
      if (!problem.empty()) throw SettingError(key, key + ": " + problem);
    }
    out.set(spec.name, std::move(value));
  }
  return out;
}

}  // namespace flowbp
