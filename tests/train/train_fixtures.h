// What the trainer tests share: the real plugins (built in this tree), one
// backbone cache per test process, experiments from the defaults plus overrides,
// and a table comparison that ignores wall-clock columns.
#pragma once
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "flowbp/experiment.h"
#include "flowbp/registry.h"
#include "flowbp/reward.h"
#include "flowbp/run_log.h"
#include "flowbp/trainer.h"
#include "temp_dir.h"

#ifndef FLOWBP_TEST_PLUGINS
#error "FLOWBP_TEST_PLUGINS must list the built plugin files"
#endif

namespace flowbp::testing {

inline const Registry& plugins() {
  static const Registry registry = [] {
    Registry r;
    std::stringstream files(FLOWBP_TEST_PLUGINS);
    std::string path;
    while (std::getline(files, path, ':'))
      if (!path.empty()) r.load_file(path);
    return r;
  }();
  return registry;
}

inline const std::vector<std::string>& all_methods() {
  static const std::vector<std::string> names = {"refl",          "draft-lv",      "drtune",
                                                 "leapalign",     "flowbp-sparse", "flowbp-bridge",
                                                 "flowbp-lagrange", "full-bp"};
  return names;
}

// One cache per test process: the first run pre-trains, the rest reuse it.
inline const std::string& cache_dir() {
  static const std::string dir = temp_dir("train-cache");
  return dir;
}

// The defaults (an empty experiment file) with `sets` applied as --set would.
inline Experiment experiment(const std::string& method, const std::vector<std::string>& sets) {
  std::vector<Override> overrides = {parse_override("method.name=\"" + method + "\"", "test")};
  for (const auto& s : sets) overrides.push_back(parse_override(s, "test"));
  return parse_experiment("", "test.toml", overrides, model_catalog(&plugins()));
}

inline TrainResult train(const Experiment& exp, const std::string& run_dir, std::int64_t stop_after = -1,
                         bool resume = false) {
  TrainOptions opt;
  opt.run_dir = run_dir;
  opt.run_name = "test";
  opt.quiet = true;
  opt.cache_dir = cache_dir();
  opt.stop_after_step = stop_after;
  opt.resume = resume;
  return train_run(exp, plugins().get(exp.method), opt);
}

inline bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

inline bool reproducible_column(const std::string& name) {
  return name.rfind("time_", 0) != 0 && name != "peak_autograd_bytes" && name != "fidelity_peak_bytes";
}

// "" when the tables agree on every reproducible column, else the first difference;
// ignore_fidelity leaves out the gradient-fidelity diagnostic's fidelity_* columns.
inline std::string table_difference(const std::string& log_a, const std::string& log_b, const std::string& group,
                                    bool ignore_fidelity = false) {
  const auto a = read_run_log_table(log_a, group), b = read_run_log_table(log_b, group);
  if (a.size() != b.size()) return group + ": different column sets";
  for (std::size_t c = 0; c < a.size(); ++c) {
    if (a[c].name != b[c].name) return group + ": column " + a[c].name + " vs " + b[c].name;
    if (!reproducible_column(a[c].name)) continue;
    if (ignore_fidelity && a[c].name.rfind("fidelity_", 0) == 0) continue;
    if (a[c].values.size() != b[c].values.size())
      return group + "/" + a[c].name + ": " + std::to_string(a[c].values.size()) + " vs " +
             std::to_string(b[c].values.size()) + " rows";
    for (std::size_t r = 0; r < a[c].values.size(); ++r)
      if (!same_value(a[c].values[r], b[c].values[r]))
        return group + "/" + a[c].name + " row " + std::to_string(r) + ": " + std::to_string(a[c].values[r]) +
               " vs " + std::to_string(b[c].values[r]);
  }
  return "";
}

inline std::vector<double> column(const std::string& log, const std::string& group, const std::string& name) {
  for (auto& c : read_run_log_table(log, group))
    if (c.name == name) return c.values;
  throw std::runtime_error(log + ": no column " + group + "/" + name);
}

// `flowbp train ARGS` as a user runs it ($FLOWBP_EXE, this process's backbone cache):
// its exit code and everything it printed.
struct Ran {
  int code = -1;
  std::string output;  // stdout and stderr together
};

inline Ran flowbp_train(const std::string& args) {
  const char* exe = std::getenv("FLOWBP_EXE");
  if (!exe) throw std::runtime_error("FLOWBP_EXE must name the built flowbp executable");
  const std::string cmd = "FLOWBP_CACHE_DIR='" + cache_dir() + "' '" + exe + "' train " + args + " 2>&1";
  Ran r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start: " + cmd);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace flowbp::testing
