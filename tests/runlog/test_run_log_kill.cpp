// Another process writes a log and dies: by SIGKILL mid-run (every reported row must
// survive, the file must open), or by running out of space (it must say which file).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_run_log_fixture.h"
#include <doctest.h>

using namespace flowbp;

namespace {

std::string writer_program() {
  const char* path = std::getenv("FLOWBP_RUN_LOG_WRITER");
  REQUIRE_MESSAGE(path != nullptr, "FLOWBP_RUN_LOG_WRITER must name tests/train/test_run_log_writer");
  return path;
}

std::string fresh_path(const std::string& name) {
  char templ[] = "/tmp/flowbp-runlog-kill-XXXXXX";
  const char* dir = ::mkdtemp(templ);
  REQUIRE(dir != nullptr);
  return std::string(dir) + "/" + name;
}

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // the child's stdout
  FILE* err = nullptr;  // the child's stderr
};

Child spawn(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  REQUIRE(::pipe(out_pipe) == 0);
  REQUIRE(::pipe(err_pipe) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  return {pid, ::fdopen(out_pipe[0], "r"), ::fdopen(err_pipe[0], "r")};
}

std::string read_all(FILE* f) {
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f)) text += buf;
  return text;
}

}  // namespace

TEST_CASE("a writer killed with SIGKILL leaves a readable log with every reported row") {
  const std::string path = fresh_path("log.h5");
  for (long wanted : {1L, 37L, 300L}) {
    CAPTURE(wanted);
    Child child = spawn({writer_program(), path, "--forever"});
    long reported = 0;
    char line[64];
    while (reported < wanted && std::fgets(line, sizeof line, child.out)) reported = std::atol(line + 4);
    REQUIRE(reported == wanted);
    // Readable while the writer runs (no HDF5 file lock is held).
    CHECK(read_run_log_summary(path).steps_done >= wanted);
    REQUIRE(::kill(child.pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
    CHECK(WIFSIGNALED(status));
    std::fclose(child.out);
    std::fclose(child.err);

    const RunLogSummary s = read_run_log_summary(path);
    CHECK(s.state == "running");
    CHECK(s.steps_done >= wanted);
    const auto steps = read_run_log_table(path, "steps");
    REQUIRE(steps.size() == run_log_test::header(1).step_columns.size());
    for (std::size_t c = 0; c < steps.size(); ++c) {
      CAPTURE(steps[c].name);
      REQUIRE(static_cast<long>(steps[c].values.size()) >= s.steps_done);
      for (long i = 0; i < s.steps_done; ++i) {
        const double expected = run_log_test::step_row(i)[c];
        if (std::isnan(expected)) CHECK(std::isnan(steps[c].values[i]));
        else CHECK(steps[c].values[i] == expected);
      }
    }
    // The next --resume continues the killed run from its rows.
    RunLog resumed = RunLog::reopen(path, wanted, 1);
    resumed.append_step(run_log_test::step_row(wanted));
    resumed.set_status("done");
    resumed.close();
    CHECK(read_run_log_summary(path).steps_done == wanted + 1);
  }
}

TEST_CASE("a writer that runs out of space stops with an error naming the file") {
  const std::string path = fresh_path("log.h5");
  Child child = spawn({writer_program(), path, "--fsize", "900000"});
  const std::string out = read_all(child.out);
  const std::string err = read_all(child.err);
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  std::fclose(child.out);
  std::fclose(child.err);
  CAPTURE(err);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK(err.rfind(path + ": cannot reserve disk space for the run log (File too large)", 0) == 0);
  // What was committed before the failure is still there.
  const RunLogSummary s = read_run_log_summary(path);
  CHECK(s.steps_done >= 1);
  CHECK(out.find("row " + std::to_string(s.steps_done) + "\n") != std::string::npos);
  CHECK(out.find("row " + std::to_string(s.steps_done + 1) + "\n") == std::string::npos);
  const auto steps = read_run_log_table(path, "steps");
  for (const auto& c : steps) CHECK(static_cast<std::int64_t>(c.values.size()) == s.steps_done);
  CHECK(steps[0].values.back() == static_cast<double>(s.steps_done));
}
