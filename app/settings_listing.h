// How the listing commands (methods, backbones, rewards) print settings: one spelling
// of a SettingSpec as text and as JSON.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "flowbp/method.h"
#include "flowbp/settings.h"

namespace flowbp::cli {

// "    K : integer = 6  >= 1\n        active budget\n" per setting, keys as <prefix>.<name>
// in the heading line.
void print_settings(const std::vector<SettingSpec>& settings, const std::string& prefix, std::ostream& out);

// [{"name": …, "type": …, "default": …, "min"/"max"/"choices" when set, "help": …}, …]
// {"name": {"description": …, "source": …, "values": {"K": 5, …}}, …} in the presets' order.
std::string presets_json(const std::vector<Preset>& presets, const std::string& indent);
std::string settings_json(const std::vector<SettingSpec>& settings, const std::string& indent);

// The value as JSON (strings quoted, lists as arrays).
std::string json_value(const SettingValue& value);

}  // namespace flowbp::cli
