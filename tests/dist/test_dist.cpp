// Real multi-process Gloo runs on loopback.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "flowbp/distributed.h"
#include "free_port.h"

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest.h>

namespace {

std::string worker() {
  const char* w = std::getenv("FLOWBP_DIST_WORKER");
  REQUIRE(w != nullptr);
  return w;
}

int free_port() { return free_tcp_port(); }

struct Result {
  int status = -1;
  std::string out, err;
};

// Runs the worker with extra environment assignments; captures stdout and stderr.
Result run_worker(const std::vector<std::string>& env, const std::string& extra = "") {
  std::string cmd = "env -u RANK -u WORLD_SIZE -u SLURM_NTASKS -u SLURM_PROCID";
  for (const auto& e : env) cmd += " " + e;
  const std::string err_file = "/tmp/flowbp_dist_err_" + std::to_string(::getpid()) + "_" +
                               std::to_string(free_port());
  cmd += " " + worker() + " " + extra + " 2>" + err_file;
  Result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 256> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.out += buf.data();
  r.status = ::pclose(pipe);
  if (FILE* f = std::fopen(err_file.c_str(), "r")) {
    while (std::fgets(buf.data(), buf.size(), f)) r.err += buf.data();
    std::fclose(f);
  }
  std::remove(err_file.c_str());
  return r;
}

std::vector<double> numbers(const std::string& text) {
  std::vector<double> v;
  std::istringstream in(text);
  for (double x; in >> x;) v.push_back(x);
  return v;
}

}  // namespace

TEST_CASE("rank variables are read from torchrun and Slurm, with clear errors") {
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("SLURM_NTASKS");
  ::unsetenv("SLURM_PROCID");
  CHECK_FALSE(flowbp::detect_ranks().distributed());
  ::setenv("RANK", "1", 1);
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", "29511", 1);
  ::setenv("LOCAL_RANK", "1", 1);
  auto r = flowbp::detect_ranks();
  CHECK(r.launcher == "torchrun");
  CHECK(r.rank == 1);
  CHECK(r.world_size == 4);
  CHECK(r.master_port == 29511);
  ::setenv("RANK", "4", 1);
  CHECK_THROWS_WITH(flowbp::detect_ranks(), doctest::Contains("not below world size 4"));
  ::setenv("RANK", "x", 1);
  CHECK_THROWS_WITH(flowbp::detect_ranks(), doctest::Contains("RANK='x'"));
  ::setenv("RANK", "0", 1);
  ::unsetenv("MASTER_PORT");
  CHECK_THROWS_WITH(flowbp::detect_ranks(), doctest::Contains("MASTER_PORT is not set"));
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "LOCAL_RANK"}) ::unsetenv(v);
  ::setenv("SLURM_NTASKS", "2", 1);
  ::setenv("SLURM_PROCID", "1", 1);
  ::setenv("SLURM_JOB_NODELIST", "gpu[07-08]", 1);
  r = flowbp::detect_ranks();
  CHECK(r.launcher == "slurm");
  CHECK(r.rank == 1);
  CHECK(r.master_addr == "gpu07");
  for (const char* v : {"SLURM_NTASKS", "SLURM_PROCID", "SLURM_JOB_NODELIST"}) ::unsetenv(v);
}

TEST_CASE("two Gloo ranks end with the weights of one process over the same global batch") {
  Result single = run_worker({});
  REQUIRE(single.status == 0);
  const std::string port = "MASTER_PORT=" + std::to_string(free_port());
  const std::vector<std::string> common = {"WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", port};
  // Rank 1 in the background, rank 0 in the foreground (it prints).
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string cmd = "env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 " + port + " " + worker() + " >/dev/null";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::vector<std::string> env0 = common;
  env0.push_back("RANK=0");
  Result rank0 = run_worker(env0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  INFO(rank0.err);
  REQUIRE(rank0.status == 0);
  CHECK(WEXITSTATUS(status) == 0);
  auto a = numbers(single.out), b = numbers(rank0.out);
  REQUIRE(a.size() == 6);
  REQUIRE(b.size() == 6);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-12));
}

TEST_CASE("a rank that dies makes the other exit with a clear error instead of hanging") {
  const std::string port = "MASTER_PORT=" + std::to_string(free_port());
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string cmd = "env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 " + port + " " + worker() +
                      " --rank1-dies >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto start = std::chrono::steady_clock::now();
  Result rank0 = run_worker({"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", port}, "--rank1-dies");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WEXITSTATUS(rank0.status) == 4);
  CHECK(rank0.err.find("another rank died or timed out") != std::string::npos);
  CHECK(seconds < 30);
}
