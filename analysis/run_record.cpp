#include "run_record.h"

#include <cmath>
#include <cstdio>

namespace flowbp::analysis {

std::string ConfigValue::text() const {
  switch (kind) {
    case Kind::Int: return std::to_string(i);
    case Kind::Float: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.10g", f);
      return buf;
    }
    case Kind::Bool: return b ? "true" : "false";
    case Kind::String: return s;
  }
  return s;
}

bool operator==(const ConfigValue& a, const ConfigValue& b) {
  if (a.numeric() && b.numeric()) return a.number() == b.number();
  return a.kind == b.kind && a.text() == b.text();
}
bool operator!=(const ConfigValue& a, const ConfigValue& b) { return !(a == b); }

bool config_less(const ConfigValue& a, const ConfigValue& b) {
  if (a.numeric() && b.numeric()) return a.number() < b.number();
  if (a.numeric() != b.numeric()) return a.numeric();
  return a.text() < b.text();
}

const char* to_string(RunState s) {
  switch (s) {
    case RunState::Done: return "done";
    case RunState::Failed: return "failed";
    case RunState::Running: return "running";
    case RunState::Unreadable: return "unreadable";
  }
  return "?";
}

std::vector<std::string> RunRecord::metric_names() const {
  std::vector<std::string> names;
  for (const auto& [name, values] : eval)
    if (name != "step" && name != "is_base") names.push_back(name);
  return names;
}

namespace {
long last_row_with_is_base(const Columns& eval, double flag) {
  auto it = eval.find("is_base");
  if (it == eval.end()) return -1;
  for (long r = static_cast<long>(it->second.size()) - 1; r >= 0; --r)
    if (it->second[static_cast<std::size_t>(r)] == flag) return r;
  return -1;
}
}  // namespace

long RunRecord::final_eval_row() const { return last_row_with_is_base(eval, 0.0); }
long RunRecord::base_eval_row() const { return last_row_with_is_base(eval, 1.0); }

}  // namespace flowbp::analysis
