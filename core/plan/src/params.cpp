#include "flowbp/params.h"

#include <cmath>
#include <sstream>

#include "flowbp/did_you_mean.h"

namespace flowbp {

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::Bool: return "bool";
    case ParamType::Int: return "int";
    case ParamType::Real: return "real";
    case ParamType::Choice: return "choice";
  }
  return "?";
}

std::string format_value(const ParamValue& value) {
  std::ostringstream out;
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) out << (v ? "true" : "false");
        else if constexpr (std::is_same_v<V, std::string>) out << '"' << v << '"';
        else out << v;
      },
      value);
  return out.str();
}

ParamSpec ParamSpec::boolean(std::string name, bool def, std::string help) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Bool;
  s.default_value = def;
  s.help = std::move(help);
  return s;
}

ParamSpec ParamSpec::integer(std::string name, std::int64_t def, std::optional<double> min,
                             std::optional<double> max, std::string help) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Int;
  s.default_value = def;
  s.min = min;
  s.max = max;
  s.help = std::move(help);
  return s;
}

ParamSpec ParamSpec::real(std::string name, double def, std::optional<double> min,
                          std::optional<double> max, std::string help) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Real;
  s.default_value = def;
  s.min = min;
  s.max = max;
  s.help = std::move(help);
  return s;
}

ParamSpec ParamSpec::choice(std::string name, std::string def, std::vector<std::string> choices,
                            std::string help) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::Choice;
  s.default_value = std::move(def);
  s.choices = std::move(choices);
  s.help = std::move(help);
  return s;
}

std::string ParamSpec::range_text() const {
  std::ostringstream out;
  if (type == ParamType::Choice) {
    out << '{';
    for (std::size_t i = 0; i < choices.size(); ++i) out << (i ? ", " : "") << choices[i];
    out << '}';
  } else if (type == ParamType::Bool) {
    out << "{true, false}";
  } else if (min && max) {
    out << '[' << *min << ", " << *max << ']';
  } else if (min) {
    out << ">= " << *min;
  } else if (max) {
    out << "<= " << *max;
  } else {
    out << "any";
  }
  return out.str();
}

const ParamValue& ParamValues::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw SettingError("setting '" + name + "' was never resolved");
  return it->second;
}

bool ParamValues::get_bool(const std::string& name) const { return std::get<bool>(at(name)); }
std::int64_t ParamValues::get_int(const std::string& name) const {
  return std::get<std::int64_t>(at(name));
}
double ParamValues::get_real(const std::string& name) const {
  const auto& v = at(name);
  if (auto i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
const std::string& ParamValues::get_choice(const std::string& name) const {
  return std::get<std::string>(at(name));
}

namespace {

std::string type_name_of(const ParamValue& v) {
  switch (v.index()) {
    case 0: return "bool";
    case 1: return "int";
    case 2: return "real";
    default: return "string";
  }
}

ParamValue coerce(const ParamSpec& spec, const ParamValue& given, const std::string& where) {
  auto wrong = [&]() {
    return SettingError(where + ": expected " + to_string(spec.type) + " " + spec.range_text() +
                        ", got " + type_name_of(given) + " " + format_value(given));
  };
  switch (spec.type) {
    case ParamType::Bool:
      if (auto b = std::get_if<bool>(&given)) return *b;
      throw wrong();
    case ParamType::Int: {
      if (auto i = std::get_if<std::int64_t>(&given)) return *i;
      if (auto d = std::get_if<double>(&given); d && std::floor(*d) == *d && std::isfinite(*d))
        return static_cast<std::int64_t>(*d);
      throw wrong();
    }
    case ParamType::Real:
      if (auto d = std::get_if<double>(&given)) return *d;
      if (auto i = std::get_if<std::int64_t>(&given)) return static_cast<double>(*i);
      throw wrong();
    case ParamType::Choice:
      if (auto s = std::get_if<std::string>(&given)) {
        for (const auto& c : spec.choices)
          if (c == *s) return *s;
        throw SettingError(where + ": '" + *s + "' is not one of " + spec.range_text() +
                           did_you_mean(*s, spec.choices));
      }
      throw wrong();
  }
  throw wrong();
}

void check_range(const ParamSpec& spec, const ParamValue& v, const std::string& where) {
  if (spec.type != ParamType::Int && spec.type != ParamType::Real) return;
  double x = spec.type == ParamType::Int ? static_cast<double>(std::get<std::int64_t>(v))
                                         : std::get<double>(v);
  if (!std::isfinite(x) || (spec.min && x < *spec.min) || (spec.max && x > *spec.max))
    throw SettingError(where + " = " + format_value(v) + " is out of range " + spec.range_text());
}

}  // namespace

ParamValues resolve_params(const std::vector<ParamSpec>& specs,
                           const std::map<std::string, ParamValue>& given,
                           const std::string& method_name) {
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  for (const auto& [key, value] : given) {
    (void)value;
    bool known = false;
    for (const auto& n : names) known = known || n == key;
    if (!known)
      throw SettingError("method." + key + ": unknown setting for method '" + method_name + "'" +
                         did_you_mean(key, names));
  }
  ParamValues out;
  for (const auto& spec : specs) {
    std::string where = "method." + spec.name;
    auto it = given.find(spec.name);
    ParamValue v = it == given.end() ? spec.default_value : coerce(spec, it->second, where);
    check_range(spec, v, where);
    out.set(spec.name, v);
  }
  return out;
}

ParamValue parse_param_text(const ParamSpec& spec, const std::string& text) {
  auto bad = [&]() {
    return SettingError("method." + spec.name + ": cannot read '" + text + "' as " +
                        to_string(spec.type) + " " + spec.range_text());
  };
  switch (spec.type) {
    case ParamType::Bool:
      if (text == "true" || text == "1" || text == "on") return true;
      if (text == "false" || text == "0" || text == "off") return false;
      throw bad();
    case ParamType::Int: {
      std::size_t used = 0;
      try {
        std::int64_t v = std::stoll(text, &used);
        if (used == text.size()) return v;
      } catch (const std::exception&) {
      }
      throw bad();
    }
    case ParamType::Real: {
      std::size_t used = 0;
      try {
        double v = std::stod(text, &used);
        if (used == text.size()) return v;
      } catch (const std::exception&) {
      }
      throw bad();
    }
    case ParamType::Choice: {
      std::string s = text;
      if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
      return coerce(spec, ParamValue{s}, "method." + spec.name);
    }
  }
  throw bad();
}

}  // namespace flowbp
