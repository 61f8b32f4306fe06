// Small toml++ helpers the sweep parser needs: a value's TOML text and a node's
// position for messages.
#pragma once
#include <string>

#include <toml++/toml.h>

namespace flowbp::sweep_detail {

// TOML syntax of a scalar or array node: 4, 0.3, "uniform", true, [1, 2].
// Reals always carry a '.' or an exponent so they stay reals when read back.
std::string toml_value_text(const toml::node& node);

// "<file>:<line>:<col>" of a node (line 0 when toml++ has no position).
std::string origin_of(const std::string& file, const toml::node& node);

// The type as users read it in messages: "integer", "string", "array" …
std::string toml_type_name(const toml::node& node);

// A string value's TOML text without its quotes (for labels); other values unchanged.
std::string unquoted(const std::string& value_text);

}  // namespace flowbp::sweep_detail
