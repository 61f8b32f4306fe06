// The default configuration keeps its numbers: short runs of every method (and of the
// guided, shifted path) against the /steps and /eval columns recorded in
// golden/default_runs.txt by the build that recorded them (main at 7ca5ac6, before the
// training knobs and the gradient-fidelity diagnostic existed). A knob at its default
// must change nothing.
//
// Floating-point columns depend on the BLAS kernel and the compiler, so they are
// compared exactly only when the base model's evaluation row (step 0, before any
// training step) equals the recorded one to the last bit: then this machine computes as
// the recording one did, and any difference is a change of behaviour. Otherwise (another
// CPU or BLAS) the float columns are skipped with a message; the columns that come from
// the index stream alone (j, s, active_*, n_active, jacobian_depth, step) are always
// compared exactly. FLOWBP_WRITE_TRAIN_GOLDEN=1 re-records the file (only ever from a
// build whose behaviour at the defaults is known to be the recorded one).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

const char* const kGolden = FLOWBP_SOURCE_ROOT "/tests/train/golden/default_runs.txt";

struct GoldenRun {
  std::string name, method;
  std::vector<std::string> sets;
};

std::vector<GoldenRun> golden_runs() {
  const std::vector<std::string> shortened = {"train.steps=6", "train.batch=16", "eval.samples_per_condition=16",
                                              "eval.steps=10", "train.eval_every=3", "train.checkpoint_every=0"};
  std::vector<GoldenRun> runs;
  for (const auto& method : all_methods()) runs.push_back({method, method, shortened});
  // Guidance (the detached negative branch) and the static shift at once.
  for (const std::string method : {"leapalign", "flowbp-sparse"}) {
    std::vector<std::string> sets = shortened;
    sets.push_back("sampling.guidance=3.0");
    sets.push_back("sampling.shift=3.0");
    runs.push_back({method + "+cfg3+shift3", method, sets});
  }
  return runs;
}

bool index_column(const std::string& group, const std::string& name) {
  return group == "steps" && (name == "step" || name == "j" || name == "s" || name == "n_active" ||
                              name == "jacobian_depth" || name.rfind("active_", 0) == 0);
}

// "<run> <group>/<column>" -> values, in file order.
using Table = std::map<std::string, std::vector<double>>;

std::string format(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

Table read_golden(std::vector<std::string>& order) {
  Table t;
  std::ifstream in(kGolden);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string run, column, value;
    s >> run >> column;
    std::vector<double>& values = t[run + " " + column];
    order.push_back(run + " " + column);
    while (s >> value) values.push_back(std::strtod(value.c_str(), nullptr));
  }
  return t;
}

}  // namespace

TEST_CASE("the default configuration reproduces the recorded numbers") {
  const std::string root = temp_dir("golden");
  Table now;
  std::vector<std::string> now_order;
  for (const auto& run : golden_runs()) {
    CAPTURE(run.name);
    const std::string dir = root + "/" + run.name;
    REQUIRE(train(experiment(run.method, run.sets), dir).outcome == RunOutcome::Done);
    for (const std::string group : {"steps", "eval"})
      for (const auto& c : read_run_log_table(dir + "/log.h5", group)) {
        if (!reproducible_column(c.name)) continue;
        const std::string key = run.name + " " + group + "/" + c.name;
        now[key] = c.values;
        now_order.push_back(key);
      }
  }

  if (const char* w = std::getenv("FLOWBP_WRITE_TRAIN_GOLDEN"); w && std::string(w) == "1") {
    std::ofstream out(kGolden, std::ios::trunc);
    out << "# tests/train/test_train_golden.cpp: short default runs; <run> <group>/<column> values (%.17g)\n";
    for (const auto& key : now_order) {
      out << key;
      for (double v : now[key]) out << ' ' << format(v);
      out << '\n';
    }
    REQUIRE(out.flush());
    MESSAGE("re-recorded " << kGolden);
    return;
  }

  std::vector<std::string> golden_order;
  const Table golden = read_golden(golden_order);
  REQUIRE_FALSE(golden.empty());
  // The same machine arithmetic: the base model's evaluation agrees to the last bit.
  bool same_arithmetic = true;
  for (const auto& [key, values] : golden)
    if (key.find(" eval/") != std::string::npos && key.find(" eval/step") == std::string::npos &&
        key.find(" eval/is_base") == std::string::npos && now.count(key) && !now.at(key).empty() &&
        !values.empty() && !same_value(now.at(key)[0], values[0]))
      same_arithmetic = false;
  if (!same_arithmetic)
    MESSAGE("the base model evaluates differently here than where " << kGolden
                                                                    << " was recorded (another CPU, BLAS or compiler): "
                                                                       "only the index-stream columns are compared");
  for (const auto& key : golden_order) {
    CAPTURE(key);
    const std::string group = key.substr(key.find(' ') + 1, key.find('/') - key.find(' ') - 1);
    const std::string name = key.substr(key.find('/') + 1);
    if (!same_arithmetic && !index_column(group, name)) continue;
    REQUIRE(now.count(key));
    const std::vector<double>& a = now.at(key);
    const std::vector<double>& b = golden.at(key);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CAPTURE(i);
      CHECK(format(a[i]) == format(b[i]));
    }
  }
}
