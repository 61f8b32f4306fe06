// Data-parallel `flowbp train`: real processes as torchrun starts them, Gloo over
// loopback. W ranks over a global batch must train the weights one process trains
// over the same batch; a dead rank must stop the others with the reason, quickly.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "train_fixtures.h"
// last: see the header
#include "free_port.h"
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

using Clock = std::chrono::steady_clock;

int free_port() { return free_tcp_port(); }

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// One `flowbp train` process with its own environment; output to a file.
struct Proc {
  pid_t pid = -1;
  std::string output_file;

  static Proc start(const std::string& env, const std::string& args, const std::string& output_file) {
    const char* exe = std::getenv("FLOWBP_EXE");
    REQUIRE_MESSAGE(exe, "FLOWBP_EXE must name the built flowbp executable");
    const std::string cmd = "exec env -u RANK -u WORLD_SIZE -u LOCAL_RANK -u SLURM_NTASKS -u SLURM_PROCID "
                            "FLOWBP_CACHE_DIR='" + cache_dir() + "' " + env + " '" + exe + "' train " + args +
                            " >'" + output_file + "' 2>&1";
    Proc p;
    p.output_file = output_file;
    p.pid = ::fork();
    REQUIRE(p.pid >= 0);
    if (p.pid == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return p;
  }
  // The exit code (−signal when killed).
  int wait() const {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  std::string output() const { return read_file(output_file); }
};

std::string rank_env(int rank, int world, int port) {
  return "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(world) +
         " LOCAL_RANK=" + std::to_string(rank) + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port);
}

// Starts `world` ranks (rank r with out_dirs[r] and dumps[r]) and waits for all.
std::vector<int> run_ranks(int world, const std::string& args, const std::vector<std::string>& outs,
                           const std::vector<std::string>& dumps, const std::string& logs) {
  const int port = free_port();
  std::vector<Proc> procs;
  for (int r = world - 1; r >= 0; --r)
    procs.push_back(Proc::start(rank_env(r, world, port),
                                args + " --out " + outs[r] + " --dump-weights " + dumps[r],
                                logs + "/rank" + std::to_string(r) + "-output.txt"));
  std::vector<int> codes(world);
  for (int i = 0; i < world; ++i) {
    const int code = procs[i].wait();
    codes[world - 1 - i] = code;
    if (code != 0) MESSAGE("rank " << world - 1 - i << " output:\n" << procs[i].output());
  }
  return codes;
}

std::map<std::string, std::vector<double>> weights(const std::string& dump) {
  std::map<std::string, std::vector<double>> out;
  std::istringstream lines(read_file(dump));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string name;
    in >> name;
    auto& values = out[name];
    for (double v; in >> v;) values.push_back(v);
  }
  return out;
}

// Largest |a − b| over every weight; a missing tensor or length counts as infinite.
double max_weight_difference(const std::string& dump_a, const std::string& dump_b) {
  const auto a = weights(dump_a), b = weights(dump_b);
  if (a.empty() || a.size() != b.size()) return HUGE_VAL;
  double worst = 0;
  for (const auto& [name, va] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second.size() != va.size()) return HUGE_VAL;
    for (std::size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::fabs(va[i] - it->second[i]));
  }
  return worst;
}

std::int64_t world_size_of(const std::string& log) {
  for (const auto& [name, value] : read_run_log_attrs(log, "/"))
    if (name == "world_size") return std::get<std::int64_t>(value);
  return -1;
}

std::string toy_args(const std::string& method, const std::string& extra, int batch = 8) {
  return std::string(FLOWBP_SOURCE_ROOT) + "/experiments/toy.toml --method " + method + " --set train.batch=" +
         std::to_string(batch) + " --set eval.samples_per_condition=16 --set train.dist_timeout_s=20 --quiet"
         " --name run " + extra;
}

}  // namespace

TEST_CASE("two Gloo ranks train the weights one process trains over the same global batch") {
  const std::string root = temp_dir("dist-equal");
  // lagrange draws from the index stream, draft-lv renoises from the noise stream.
  for (const std::string method : {"flowbp-lagrange", "draft-lv"}) {
    CAPTURE(method);
    const std::string dir = root + "/" + method;
    ::mkdir(dir.c_str(), 0755);
    const std::string args = toy_args(method, "--set train.steps=6 --set train.eval_every=3");
    const auto t0 = Clock::now();
    const Proc single = Proc::start("", args + " --out " + dir + "/single --dump-weights " + dir + "/single.txt",
                                    dir + "/single-output.txt");
    REQUIRE(single.wait() == 0);
    const auto t1 = Clock::now();
    const std::vector<int> codes = run_ranks(2, args, {dir + "/rank0", dir + "/rank1"},
                                             {dir + "/rank0.txt", dir + "/rank1.txt"}, dir);
    MESSAGE(method << ": 1 process " << std::chrono::duration<double>(t1 - t0).count() << " s, 2 ranks "
                   << std::chrono::duration<double>(Clock::now() - t1).count() << " s");
    REQUIRE(codes == std::vector<int>{0, 0});

    const double diff = max_weight_difference(dir + "/single.txt", dir + "/rank0.txt");
    MESSAGE(method << ": largest weight difference, 2 ranks vs 1 process: " << diff);
    CHECK(diff < 1e-6);

    const std::string log0 = dir + "/rank0/run/log.h5", log1 = dir + "/single/run/log.h5";
    CHECK(world_size_of(log0) == 2);
    CHECK(world_size_of(log1) == 1);
    CHECK(read_run_log_summary(log0).state == "done");
    CHECK(exists(dir + "/rank0/run/config.toml"));
    CHECK(exists(dir + "/rank0/run/checkpoint.bin"));
    // Rank 1 writes nothing: no run directory, no weights.
    CHECK_FALSE(exists(dir + "/rank1"));
    CHECK_FALSE(exists(dir + "/rank1.txt"));
    // The logged means are the global batch's.
    const auto loss0 = column(log0, "steps", "loss"), loss1 = column(log1, "steps", "loss");
    const auto reward0 = column(log0, "steps", "reward_mean"), reward1 = column(log1, "steps", "reward_mean");
    const auto norm0 = column(log0, "steps", "grad_norm_pre_clip"), norm1 = column(log1, "steps", "grad_norm_pre_clip");
    REQUIRE(loss0.size() == 6);
    REQUIRE(loss1.size() == 6);
    for (std::size_t i = 0; i < loss0.size(); ++i) {
      CHECK(loss0[i] == doctest::Approx(loss1[i]).epsilon(1e-5));
      CHECK(reward0[i] == doctest::Approx(reward1[i]).epsilon(1e-5));
      CHECK(norm0[i] == doctest::Approx(norm1[i]).epsilon(1e-4));
      CHECK(norm1[i] > 0);  // the weights moved: not two untouched copies compared
    }
    CHECK(column(log0, "steps", "j") == column(log1, "steps", "j"));
    CHECK(column(log0, "eval", "step") == column(log1, "eval", "step"));
  }
}

// Accumulation sums the micro-batches' gradients on each rank and averages over ranks
// once; the diagnostic runs on rank 0 only (no collective inside it), so neither
// desynchronises the ranks or changes what they train.
TEST_CASE("two ranks with gradient accumulation and the fidelity diagnostic train what one process trains") {
  const std::string dir = temp_dir("dist-accumulation");
  const std::string args = toy_args("draft-lv",
                                    "--set train.steps=4 --set train.eval_every=0 --set train.grad_accumulation=2"
                                    " --set diagnostics.exact_grad_every=2 --set diagnostics.exact_grad_batch=4");
  REQUIRE(Proc::start("", args + " --out " + dir + "/single --dump-weights " + dir + "/single.txt",
                      dir + "/single-output.txt")
              .wait() == 0);
  const std::vector<int> codes =
      run_ranks(2, args, {dir + "/rank0", dir + "/rank1"}, {dir + "/rank0.txt", dir + "/rank1.txt"}, dir);
  REQUIRE(codes == std::vector<int>{0, 0});
  CHECK(max_weight_difference(dir + "/single.txt", dir + "/rank0.txt") < 1e-6);
  const std::string log0 = dir + "/rank0/run/log.h5", log1 = dir + "/single/run/log.h5";
  const auto loss0 = column(log0, "steps", "loss"), loss1 = column(log1, "steps", "loss");
  const auto norm0 = column(log0, "steps", "grad_norm_pre_clip"), norm1 = column(log1, "steps", "grad_norm_pre_clip");
  const auto cos0 = column(log0, "steps", "fidelity_cos"), cos1 = column(log1, "steps", "fidelity_cos");
  REQUIRE(loss0.size() == 4);
  REQUIRE(loss1.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(loss0[i] == doctest::Approx(loss1[i]).epsilon(1e-5));
    CHECK(norm0[i] == doctest::Approx(norm1[i]).epsilon(1e-4));
    // The diagnostic's sub-batch is the global batch's first rows either way.
    CHECK(std::isfinite(cos0[i]) == (i % 2 == 0));
    if (i % 2 == 0) CHECK(cos0[i] == doctest::Approx(cos1[i]).epsilon(1e-4));
  }
}

TEST_CASE("data-parallel resume: both ranks load rank 0's checkpoint from the shared run directory") {
  const std::string dir = temp_dir("dist-resume");
  const std::string args = toy_args("draft-lv", "--set train.steps=8 --set train.checkpoint_every=3 --set train.eval_every=4");
  REQUIRE(Proc::start("", args + " --out " + dir + "/single --dump-weights " + dir + "/single.txt",
                      dir + "/single-output.txt").wait() == 0);
  const std::string shared = dir + "/shared";
  // Stopped after step 5: the checkpoint is step 3's; both ranks continue from it.
  REQUIRE(run_ranks(2, args + " --stop-after-step 5", {shared, shared}, {dir + "/cut0.txt", dir + "/cut1.txt"},
                    dir) == std::vector<int>{0, 0});
  CHECK(read_run_log_summary(shared + "/run/log.h5").state == "running");
  REQUIRE(run_ranks(2, args + " --resume", {shared, shared}, {dir + "/resumed0.txt", dir + "/resumed1.txt"}, dir) ==
          std::vector<int>{0, 0});
  CHECK(read_run_log_summary(shared + "/run/log.h5").state == "done");
  CHECK(column(shared + "/run/log.h5", "steps", "step").size() == 8);
  const double diff = max_weight_difference(dir + "/single.txt", dir + "/resumed0.txt");
  MESSAGE("largest weight difference, resumed 2 ranks vs 1 process: " << diff);
  CHECK(diff < 1e-6);
  CHECK_FALSE(exists(dir + "/resumed1.txt"));
}

TEST_CASE("a rank killed mid-run makes the other exit non-zero with the reason, quickly") {
  const std::string dir = temp_dir("dist-kill");
  // Warm the backbone cache so both ranks start training at once.
  REQUIRE(Proc::start("", toy_args("refl", "--set train.steps=1 --out " + dir + "/warm"), dir + "/warm.txt").wait() ==
          0);
  const int port = free_port();
  const std::string args = toy_args("refl", "--set train.steps=1000000 --set train.eval_every=0");
  const Proc rank1 = Proc::start(rank_env(1, 2, port), args + " --out " + dir + "/b", dir + "/rank1.txt");
  const Proc rank0 = Proc::start(rank_env(0, 2, port), args + " --out " + dir + "/a", dir + "/rank0.txt");
  // A failed REQUIRE below must not leave two ranks training a million steps.
  struct KillOnExit {
    std::vector<pid_t> pids;
    ~KillOnExit() {
      for (pid_t p : pids)
        if (::waitpid(p, nullptr, WNOHANG) == 0) {
          ::kill(p, SIGKILL);
          ::waitpid(p, nullptr, 0);
        }
    }
  } reaper{{rank0.pid, rank1.pid}};
  const std::string log = dir + "/a/run/log.h5";
  // Generous: under a parallel test suite on two cores the ranks start slowly.
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  std::int64_t rows = 0;
  while (Clock::now() < deadline && rows < 20) {
    try {
      rows = read_run_log_summary(log).steps_done;
    } catch (const std::exception&) {
      rows = 0;  // not created yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string early = rows >= 20 ? "" : "rank 0:\n" + rank0.output() + "\nrank 1:\n" + rank1.output();
  INFO(early);
  REQUIRE(rows >= 20);
  ::kill(rank1.pid, SIGKILL);
  const auto killed_at = Clock::now();
  CHECK(rank1.wait() == -SIGKILL);
  const int code = rank0.wait();
  const double seconds = std::chrono::duration<double>(Clock::now() - killed_at).count();
  MESSAGE("rank 0 exited " << seconds << " s after rank 1 was killed");
  const std::string output = rank0.output();
  INFO(output);
  CHECK(code == 3);
  CHECK(seconds < 20);
  CHECK(output.find("another rank died or timed out") != std::string::npos);
  const auto summary = read_run_log_summary(log);
  CHECK(summary.state == "failed");
  CHECK(summary.reason.find("another rank died or timed out") != std::string::npos);
  CHECK(summary.reason.find("all-reduce failed") != std::string::npos);  // statistics or gradients
}

TEST_CASE("a global batch that does not divide by the world size is refused before any rank trains") {
  const std::string dir = temp_dir("dist-batch");
  const Proc p = Proc::start(rank_env(0, 2, free_port()),
                             toy_args("refl", "--set train.steps=2 --out " + dir, 7),
                             dir + "/output.txt");
  CHECK(p.wait() == 2);
  CHECK(p.output().find("train.batch: 7 is the global batch and must divide by the world size 2") !=
        std::string::npos);
  CHECK_FALSE(exists(dir + "/run"));
}
