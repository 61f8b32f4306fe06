// The reader against the trainer's own writer (flowbp::RunLog): logs written by
// train/ must tabulate exactly, including a run still open for writing.

#include <cmath>
#include <filesystem>

#include "fixture_logs.h"
#include "flowbp/run_log.h"
#include "report.h"
#include "run_log_reader.h"
#include <doctest.h>

using namespace flowbp::analysis;
using flowbp::analysis::test::fresh_dir;

namespace {

flowbp::RunLogHeader header(const std::string& method, std::int64_t seed, std::int64_t k) {
  flowbp::RunLogHeader h;
  h.root_attrs = {{"method", method}, {"seed", seed}, {"run_name", method + "-s" + std::to_string(seed)},
                  {"config_id", std::string("0123456789ab")}, {"world_size", std::int64_t{1}}};
  h.config_leaves = {{"method.name", method}, {"method.K", k}, {"train.seed", seed}, {"train.lr", 1e-3},
                     {"train.ema", true}, {"sampling.steps", std::int64_t{20}}};
  for (const char* c : {"reward_mean", "grad_norm_pre_clip", "r_s_mean", "r_0_mean", "time_step"})
    h.step_columns.push_back({c, false, false});
  h.step_columns.insert(h.step_columns.begin(), flowbp::ColumnSpec{"step", true, false});
  h.step_columns.push_back({"peak_autograd_bytes", true, false});
  h.eval_columns = {{"step", true, false}, {"is_base", true, false}, {"reward", false, false}, {"fid", false, true}};
  h.steps_total = 4;
  return h;
}

void write_run(const std::string& path, const std::string& method, std::int64_t seed, std::int64_t k, double final_reward,
               double final_fid, bool finish) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  auto log = flowbp::RunLog::create(path, header(method, seed, k));
  log.append_eval({0, 1, 0.5, 10.0});
  for (int s = 1; s <= 4; ++s) log.append_step({double(s), 0.5 + 0.1 * s, 1.0, NAN, 0.01 * s, 0.002, 4096.0 * s});
  log.append_eval({4, 0, final_reward, final_fid});
  if (finish) {
    log.set_status("done");
    log.close();
  }
}

}  // namespace

TEST_CASE("logs written by the trainer's RunLog tabulate exactly") {
  const std::string dir = fresh_dir("writer-compat");
  write_run(dir + "/a0/log.h5", "flowbp-sparse", 0, 4, 0.70, 9.0, true);
  write_run(dir + "/a1/log.h5", "flowbp-sparse", 1, 4, 0.80, 8.0, true);
  write_run(dir + "/b0/log.h5", "refl", 0, 1, 0.60, 7.0, true);

  const RunRecord r = read_run_log(dir + "/a1/log.h5");
  REQUIRE_MESSAGE(r.state == RunState::Done, r.problem);
  CHECK(r.method == "flowbp-sparse");
  CHECK(r.seed == 1);
  CHECK(r.steps_done == 4);
  CHECK(r.steps_total == 4);
  CHECK(r.config.at("train.ema").kind == ConfigValue::Kind::Bool);
  CHECK(r.config.at("method.K").i == 4);
  CHECK(r.lower_is_better == std::set<std::string>{"fid"});  // written as a bool on every column
  CHECK(r.steps.at("peak_autograd_bytes").back() == 16384.0);

  ReportOptions o;
  o.inputs = {dir};
  o.out_dir = dir + "/report";
  o.figures = false;
  const Report rep = make_report(o);
  REQUIRE(rep.table.rows.size() == 2);
  const Group& sparse = rep.table.rows[0];
  CHECK(sparse.label() == "flowbp-sparse");  // method.K differs only across methods: not a swept setting
  CHECK(rep.table.metrics.front().name == "reward");
  const Cell& reward = rep.table.cells[0][0];
  CHECK(reward.value.n == 2);
  CHECK(reward.value.mean == doctest::Approx(0.75));
  CHECK(reward.value.ci95_half == doctest::Approx(12.706204736432095 * std::sqrt(0.005) / std::sqrt(2.0)));
  CHECK(reward.gain == doctest::Approx(0.25));
  CHECK(reward.best);
  const Cell& fid_refl = rep.table.cells[1][1];
  CHECK(rep.table.metrics[1].name == "fid");
  CHECK(rep.table.metrics[1].lower_is_better);
  CHECK(fid_refl.best);  // 7 < 8.5
}

TEST_CASE("a run the trainer still holds open reads as running") {
  const std::string dir = fresh_dir("writer-open");
  flowbp::RunLogHeader h = header("flowbp-sparse", 3, 4);
  std::filesystem::create_directories(dir + "/open");
  auto log = flowbp::RunLog::create(dir + "/open/log.h5", h);
  log.append_step({1, 0.6, 1.0, NAN, 0.01, 0.002, 4096});
  log.flush();
  const RunRecord r = read_run_log(dir + "/open/log.h5");
  CHECK_MESSAGE(r.state == RunState::Running, r.problem);
  CHECK(r.steps_done == 1);
  log.close();
}
