// One run log as the analysis sees it (docs/LOG_FORMAT.md, schema 1): its status,
// its resolved config and its /steps and /eval columns. Plain data, HDF5-free.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace flowbp::analysis {

// A /config attribute. Compared and printed through text(); sorted numerically when both sides are numbers.
struct ConfigValue {
  enum class Kind { Int, Float, String, Bool } kind = Kind::String;
  std::int64_t i = 0;
  double f = 0;
  std::string s;
  bool b = false;

  bool numeric() const { return kind == Kind::Int || kind == Kind::Float; }
  double number() const { return kind == Kind::Int ? static_cast<double>(i) : f; }
  std::string text() const;
};
bool operator==(const ConfigValue& a, const ConfigValue& b);
bool operator!=(const ConfigValue& a, const ConfigValue& b);
// Numbers by value, everything else by text: "K=2" < "K=10".
bool config_less(const ConfigValue& a, const ConfigValue& b);

enum class RunState { Done, Failed, Running, Unreadable };
const char* to_string(RunState s);

using Columns = std::map<std::string, std::vector<double>>;

struct RunRecord {
  std::string path;
  RunState state = RunState::Unreadable;
  std::string problem;  // Unreadable: why, naming the file's object that is wrong

  std::int64_t schema_version = -1;
  std::string method, run_name, config_id;
  std::string backbone_cache_key;  // root attribute; "" when absent or empty (no cached pre-trained model)
  std::int64_t seed = -1;
  std::string reason;  // Failed: the trainer's reason
  std::int64_t failed_step = -1, steps_done = 0, steps_total = 0;

  std::map<std::string, ConfigValue> config;  // /config attributes by dotted key
  // Loaded only for Done runs (the others are reported, never tabulated).
  Columns steps;
  Columns eval;
  std::set<std::string> lower_is_better;  // /eval columns with attribute lower_is_better = 1

  // Metric columns: every /eval column but step and is_base.
  std::vector<std::string> metric_names() const;
  // Index of the last EMA (is_base = 0) and of the base (is_base = 1) /eval row; -1 when absent.
  long final_eval_row() const;
  long base_eval_row() const;
};

}  // namespace flowbp::analysis
