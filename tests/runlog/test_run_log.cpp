// The HDF5 run log: what is written reads back (layout, types, values, status),
// resume truncation, and errors that name the file.
#include <hdf5.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "test_run_log_fixture.h"

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest.h>

using namespace flowbp;
using run_log_test::eval_row;
using run_log_test::header;
using run_log_test::step_row;

namespace {

std::string temp_path(const std::string& name) {
  static const std::string dir = [] {
    char templ[] = "/tmp/flowbp-runlog-test-XXXXXX";
    const char* made = ::mkdtemp(templ);
    return std::string(made ? made : "/tmp");
  }();
  return dir + "/" + name;
}

const ColumnData& column(const std::vector<ColumnData>& table, const std::string& name) {
  for (const auto& c : table)
    if (c.name == name) return c;
  FAIL("no column " << name);
  throw std::logic_error("unreachable");
}

const AttrValue& attr(const std::vector<std::pair<std::string, AttrValue>>& attrs, const std::string& name) {
  for (const auto& [k, v] : attrs)
    if (k == name) return v;
  FAIL("no attribute " << name);
  throw std::logic_error("unreachable");
}

void write_log(const std::string& path, std::int64_t steps, std::int64_t evals) {
  RunLog log = RunLog::create(path, header(steps));
  for (std::int64_t e = 0; e < evals; ++e) log.append_eval(eval_row(e));
  for (std::int64_t i = 0; i < steps; ++i) log.append_step(step_row(i));
  log.set_status("done");
  log.close();
}

void check_step_values(const std::vector<ColumnData>& steps, std::int64_t rows) {
  const auto reference = header(rows).step_columns;
  REQUIRE(steps.size() == reference.size());
  for (std::size_t c = 0; c < steps.size(); ++c) {
    CAPTURE(steps[c].name);
    CHECK(steps[c].name == reference[c].name);  // declaration order
    CHECK(steps[c].is_integer == reference[c].is_integer);
    REQUIRE(static_cast<std::int64_t>(steps[c].values.size()) >= rows);
    for (std::int64_t i = 0; i < rows; ++i) {
      const double expected = step_row(i)[c];
      if (std::isnan(expected)) CHECK(std::isnan(steps[c].values[i]));
      else CHECK(steps[c].values[i] == expected);
    }
  }
}

}  // namespace

TEST_CASE("a written log reads back: attributes, columns, types, values, status") {
  const std::string path = temp_path("roundtrip.h5");
  write_log(path, 20, 3);

  const RunLogSummary s = read_run_log_summary(path);
  CHECK(s.schema_version == 1);
  CHECK(s.state == "done");
  CHECK(s.reason.empty());
  CHECK(s.steps_done == 20);
  CHECK(s.steps_total == 20);
  CHECK(s.failed_step == -1);

  const auto steps = read_run_log_table(path, "steps");
  check_step_values(steps, 20);
  CHECK(column(steps, "step").values.size() == 20);

  const auto evals = read_run_log_table(path, "eval");
  REQUIRE(evals.size() == 6);
  CHECK(column(evals, "is_base").values == std::vector<double>{1, 0, 0});
  CHECK(column(evals, "reward").values[2] == doctest::Approx(0.4));
  CHECK(column(evals, "ood_distance").lower_is_better);
  CHECK_FALSE(column(evals, "ood_laplace").lower_is_better);

  const auto root = read_run_log_attrs(path, "/");
  CHECK(std::get<std::int64_t>(attr(root, "schema_version")) == 1);
  CHECK(std::get<std::string>(attr(root, "method")) == "flowbp-lagrange");
  CHECK(std::get<std::int64_t>(attr(root, "seed")) == 42);
  CHECK(std::get<std::string>(attr(root, "config_toml")) == "[train]\nsteps = 20\n");
  const auto config = read_run_log_attrs(path, "/config");
  CHECK(std::get<std::int64_t>(attr(config, "method.K")) == 4);
  CHECK(std::get<double>(attr(config, "method.beta")) == 0.3);
  CHECK(std::get<bool>(attr(config, "method.trajectory_weighting")) == true);
  CHECK(std::get<std::string>(attr(config, "eval.held_out_conditions")) == "[0, 1, 2, 3]");
  const auto status = read_run_log_attrs(path, "/status");
  CHECK(std::get<std::string>(attr(status, "state")) == "done");
  CHECK(std::get<std::int64_t>(attr(status, "steps_done")) == 20);
}

TEST_CASE("status changes are recorded with reason and step; root attributes can be added") {
  const std::string path = temp_path("failed.h5");
  RunLog log = RunLog::create(path, header(10));
  CHECK(read_run_log_summary(path).state == "running");
  for (int i = 0; i < 4; ++i) log.append_step(step_row(i));
  CHECK(log.step_rows() == 4);
  CHECK(read_run_log_summary(path).steps_done == 4);  // readable while the writer holds it open
  log.set_root_attr("torch_version", std::string("1.13.1"));
  log.set_status("failed", "non-finite loss (nan) at step 5", 5);
  log.close();
  const RunLogSummary s = read_run_log_summary(path);
  CHECK(s.state == "failed");
  CHECK(s.reason == "non-finite loss (nan) at step 5");
  CHECK(s.failed_step == 5);
  CHECK(s.steps_done == 4);
  CHECK(std::get<std::string>(attr(read_run_log_attrs(path, "/"), "torch_version")) == "1.13.1");
}

TEST_CASE("reopen keeps the rows up to the checkpoint and appends after them") {
  const std::string path = temp_path("resume.h5");
  write_log(path, 10, 3);
  {
    RunLog log = RunLog::reopen(path, 6, 2);
    CHECK(log.step_rows() == 6);
    CHECK(log.eval_rows() == 2);
    const RunLogSummary s = read_run_log_summary(path);
    CHECK(s.state == "running");
    CHECK(s.steps_done == 6);
    CHECK(s.steps_total == 10);
    for (int i = 6; i < 9; ++i) log.append_step(step_row(i));
    log.append_eval(eval_row(2));
    log.set_status("done");
  }  // the destructor closes
  const auto steps = read_run_log_table(path, "steps");
  check_step_values(steps, 9);
  CHECK(column(steps, "step").values.size() == 9);
  CHECK(column(read_run_log_table(path, "eval"), "step").values == std::vector<double>{0, 10, 20});
  CHECK(read_run_log_summary(path).state == "done");

  CHECK_THROWS_WITH_AS(RunLog::reopen(path, 12, 0),
                       (path + ": cannot resume: /steps holds 9 complete rows, the checkpoint needs 12").c_str(),
                       std::runtime_error);
  RunLog::reopen(path, 0, 0).close();
  CHECK(read_run_log_summary(path).steps_done == 0);
  CHECK(read_run_log_table(path, "steps")[0].values.empty());
}

TEST_CASE("bad rows are refused without touching the file") {
  const std::string path = temp_path("badrow.h5");
  RunLog log = RunLog::create(path, header(3));
  log.append_step(step_row(0));
  CHECK_THROWS_AS(log.append_step(Row{1.0, 2.0}), std::invalid_argument);
  Row nan_step = step_row(1);
  nan_step[0] = std::nan("");
  CHECK_THROWS_WITH_AS(log.append_step(nan_step),
                       (path + ": /steps/step is an integer column and cannot hold nan").c_str(), std::invalid_argument);
  CHECK_THROWS_AS(log.set_status("finished"), std::invalid_argument);
  CHECK(log.step_rows() == 1);
  log.close();
  CHECK(read_run_log_summary(path).steps_done == 1);
  CHECK_THROWS_AS(log.append_step(step_row(1)), std::logic_error);
}

TEST_CASE("errors name the file: unwritable path, not a log, corrupt, other schema") {
  const std::string missing_dir = "/nonexistent-flowbp-dir/run/log.h5";
  try {
    RunLog::create(missing_dir, header(1));
    FAIL("created a log in a missing directory");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind(missing_dir + ": cannot create the run log", 0) == 0);
  }
  try {
    read_run_log_summary("/nonexistent-flowbp-dir/log.h5");
    FAIL("read a missing log");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK(what.rfind("/nonexistent-flowbp-dir/log.h5: not a readable HDF5 run log", 0) == 0);
    CHECK(what.find("No such file or directory") != std::string::npos);  // HDF5's own reason is kept
  }

  const std::string text = temp_path("text.h5");
  std::ofstream(text) << "not hdf5\n";
  try {
    read_run_log_summary(text);
    FAIL("read a text file as a log");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind(text + ": not a readable HDF5 run log (missing, truncated or another format)", 0) == 0);
  }

  // The first half of a real log.
  const std::string whole = temp_path("whole.h5"), half = temp_path("half.h5");
  write_log(whole, 50, 2);
  {
    std::ifstream in(whole, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(half, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  try {
    read_run_log_table(half, "steps");
    FAIL("read a truncated log");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind(half + ": ", 0) == 0);
  }

  // Another schema version, written with the C API as a future flowbp would.
  const std::string future = temp_path("future.h5");
  write_log(future, 2, 1);
  {
    hid_t f = H5Fopen(future.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    const std::int64_t two = 2;
    CHECK(H5Awrite(a, H5T_NATIVE_INT64, &two) >= 0);
    H5Aclose(a);
    H5Fclose(f);
  }
  CHECK_THROWS_WITH_AS(read_run_log_summary(future),
                       (future + ": run log schema_version 2 is not readable by this flowbp, which reads schema_version 1")
                           .c_str(),
                       std::runtime_error);
  CHECK_THROWS_AS(RunLog::reopen(future, 0, 0), std::runtime_error);
}

TEST_CASE("a device that refuses every write (/dev/full) fails with the path") {
  std::ifstream probe("/dev/full");
  if (!probe) {
    MESSAGE("/dev/full is not available: skipped");
    return;
  }
  try {
    RunLog log = RunLog::create("/dev/full", header(1));
    log.append_step(step_row(0));
    log.close();
    FAIL("writing to /dev/full succeeded");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind("/dev/full: ", 0) == 0);
  }
}

TEST_CASE("logging cost per training step") {
  const std::string path = temp_path("timing.h5");
  RunLogHeader h = header(300, 24);  // about the trainer's width: ~40 columns
  RunLog log = RunLog::create(path, h);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) log.append_step(step_row(i, 24));
  const double per_row =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 300.0;
  log.close();
  MESSAGE("append_step with " << h.step_columns.size() << " columns + flush: " << per_row * 1e3 << " ms per row");
  CHECK(read_run_log_summary(path).steps_done == 300);
  CHECK(per_row < 0.05);  // generous: a shared 2-core machine; typical is far lower
}
