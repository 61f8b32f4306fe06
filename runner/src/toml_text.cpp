#include "toml_text.h"

#include <cstdlib>
#include <sstream>

#include "flowbp/text.h"

namespace flowbp::sweep_detail {

std::string toml_value_text(const toml::node& node) {
  if (auto v = node.as_integer()) return std::to_string(v->get());
  if (auto v = node.as_floating_point()) return toml_real(v->get());
  if (auto v = node.as_boolean()) return v->get() ? "true" : "false";
  if (auto v = node.as_string()) return quoted(v->get());
  if (auto a = node.as_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out += ", ";
      out += toml_value_text(*a->get(i));
    }
    return out + "]";
  }
  std::ostringstream os;  // dates and times: toml++'s own spelling is valid TOML
  node.visit([&os](const auto& n) {
    if constexpr (!toml::is_table<decltype(n)>) os << n;
  });
  return os.str();
}

std::string origin_of(const std::string& file, const toml::node& node) {
  const auto& begin = node.source().begin;
  return file + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column);
}

std::string toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "real";
    case toml::node_type::boolean: return "boolean";
    default: return "date/time";
  }
}

std::string unquoted(const std::string& value_text) {
  if (value_text.size() >= 2 && value_text.front() == '"' && value_text.back() == '"')
    return value_text.substr(1, value_text.size() - 2);
  return value_text;
}

}  // namespace flowbp::sweep_detail
