// Reading real run logs: good ones in full, bad ones as Unreadable with the reason.

#include <filesystem>

#include "fixture_logs.h"
#include "log_scan.h"
#include "run_log_reader.h"
#include <doctest.h>

using namespace flowbp::analysis;
using flowbp::analysis::test::fixture_logs;

namespace {
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("a finished run is read in full") {
  const RunRecord r = read_run_log(fixture_logs() + "/main/flowbp-lagrange-s1/log.h5");
  REQUIRE_MESSAGE(r.state == RunState::Done, r.problem);
  CHECK(r.schema_version == 1);
  CHECK(r.method == "flowbp-lagrange");
  CHECK(r.seed == 1);
  CHECK(r.steps_done == 100);
  CHECK(r.config.at("method.K").kind == ConfigValue::Kind::Int);
  CHECK(r.config.at("method.K").i == 4);
  CHECK(r.config.at("train.lr").kind == ConfigValue::Kind::Float);
  CHECK(r.config.at("train.lr").f == doctest::Approx(1e-3));
  CHECK(r.config.at("train.ema").kind == ConfigValue::Kind::Bool);  // h5py's enum bool
  CHECK(r.config.at("train.ema").b);
  CHECK(r.config.at("backbone.name").text() == "toy-gmm");
  CHECK(r.steps.at("step").size() == 100);
  CHECK(r.steps.at("peak_autograd_bytes").at(0) == 1048576.0);
  CHECK(r.eval.at("step") == std::vector<double>{0, 50, 100});
  CHECK(r.base_eval_row() == 0);
  CHECK(r.final_eval_row() == 2);
  CHECK(r.eval.at("reward").at(2) == doctest::Approx(0.84));
  CHECK(r.lower_is_better == std::set<std::string>{"fid_toy"});
  CHECK(r.metric_names().size() == 7);
}

TEST_CASE("fixed-length string attributes read like variable-length ones") {
  const RunRecord r = read_run_log(fixture_logs() + "/main/draft-lv-s1/log.h5");
  REQUIRE_MESSAGE(r.state == RunState::Done, r.problem);
  CHECK(r.method == "draft-lv");
  CHECK(r.config.at("backbone.name").text() == "toy-gmm");
}

TEST_CASE("bad files come back Unreadable with the reason, never throw") {
  const std::string m = fixture_logs() + "/main/";
  RunRecord r = read_run_log(m + "corrupt/log.h5");
  CHECK(r.state == RunState::Unreadable);
  CHECK(contains(r.problem, "not an HDF5 file"));

  r = read_run_log(m + "truncated/log.h5");
  CHECK(r.state == RunState::Unreadable);
  CHECK(contains(r.problem, "truncated"));

  r = read_run_log(m + "schema99/log.h5");
  CHECK(r.state == RunState::Unreadable);
  CHECK(contains(r.problem, "schema_version 99"));

  r = read_run_log(m + "missing_column/log.h5");
  CHECK(r.state == RunState::Unreadable);
  CHECK(contains(r.problem, "missing column /eval/is_base"));

  r = read_run_log(m + "no/such/log.h5");
  CHECK(r.state == RunState::Unreadable);
  CHECK(contains(r.problem, "not a readable file"));
}

TEST_CASE("running and failed runs keep their status and are not loaded") {
  const std::string m = fixture_logs() + "/main/";
  RunRecord r = read_run_log(m + "running/log.h5");
  CHECK(r.state == RunState::Running);
  CHECK(r.steps_done == 40);
  CHECK(r.steps_total == 100);
  CHECK(r.steps.empty());

  r = read_run_log(m + "failed/log.h5");
  CHECK(r.state == RunState::Failed);
  CHECK(r.failed_step == 17);
  CHECK(r.reason == "non-finite loss (nan) at step 17");
}

TEST_CASE("a scan skips earlier attempts kept under failed_attempts/") {
  namespace fs = std::filesystem;
  const fs::path dir = flowbp::analysis::test::fresh_dir("scan-failed-attempts");
  const fs::path good = fixture_logs() + "/main/flowbp-lagrange-s1/log.h5";
  fs::create_directories(dir / "runs" / "a");
  fs::create_directories(dir / "failed_attempts" / "a.1");
  fs::copy_file(good, dir / "runs" / "a" / "log.h5");
  fs::copy_file(good, dir / "failed_attempts" / "a.1" / "log.h5");
  const auto found = find_run_logs({dir.string()}, "");
  REQUIRE(found.size() == 1);
  CHECK(contains(found[0], "runs/a/log.h5"));
}
