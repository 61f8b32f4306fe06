#include "settings_listing.h"

#include <sstream>

#include "flowbp/text.h"

namespace flowbp::cli {

std::string json_value(const SettingValue& value) {
  if (auto s = std::get_if<std::string>(&value)) return quoted(*s);
  return format_value(value);  // bools, numbers and integer lists are spelled alike in TOML and JSON
}

void print_settings(const std::vector<SettingSpec>& settings, const std::string& prefix, std::ostream& out) {
  out << "  settings (" << prefix << ".<name> in an experiment):\n";
  if (settings.empty()) out << "    (none)\n";
  for (const auto& s : settings)
    out << "    " << s.name << " : " << to_string(s.type) << " = " << format_value(s.default_value) << "  "
        << s.range_text() << "\n        " << s.help << '\n';
}

std::string presets_json(const std::vector<Preset>& presets, const std::string& indent) {
  std::ostringstream out;
  out << '{';
  bool first = true;
  for (const auto& p : presets) {
    out << (first ? "\n" : ",\n") << indent << quoted(p.name) << ": {\"description\": " << quoted(p.description)
        << ", \"source\": " << quoted(p.source) << ", \"values\": {";
    for (std::size_t k = 0; k < p.values.size(); ++k)
      out << (k ? ", " : "") << quoted(p.values[k].first) << ": " << json_value(p.values[k].second);
    out << "}}";
    first = false;
  }
  out << '}';
  return out.str();
}

std::string settings_json(const std::vector<SettingSpec>& settings, const std::string& indent) {
  std::ostringstream out;
  out << '[';
  bool first = true;
  for (const auto& s : settings) {
    out << (first ? "\n" : ",\n") << indent << "{\"name\": " << quoted(s.name) << ", \"type\": \"" << to_string(s.type)
        << "\", \"default\": " << json_value(s.default_value);
    if (s.min) out << ", \"min\": " << format_value(*s.min) << (s.min_exclusive ? ", \"min_exclusive\": true" : "");
    if (s.max) out << ", \"max\": " << format_value(*s.max);
    if (!s.choices.empty()) {
      out << ", \"choices\": [";
      for (std::size_t i = 0; i < s.choices.size(); ++i) out << (i ? ", " : "") << quoted(s.choices[i]);
      out << ']';
    }
    out << ", \"help\": " << quoted(s.help) << '}';
    first = false;
  }
  out << ']';
  return out.str();
}

}  // namespace flowbp::cli
