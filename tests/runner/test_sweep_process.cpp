// `flowbp sweep` end to end with real `flowbp train` children: dry runs, a
// failing run among good ones, SIGKILL of the whole sweep then --resume, a clean
// stop on SIGTERM, and Slurm tasks covering the sweep.
#include <doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "flowbp/run_log.h"
#include "flowbp/sweep_index.h"
#include "runner_fixture.h"

using namespace flowbp;
namespace fs = std::filesystem;

namespace {

struct SweepDir {
  std::string dir, sweep, out;
};

// A sweep file over a tiny base experiment, in a fresh directory.
SweepDir make_sweep(const std::string& label, const std::string& body, const std::string& base_extra = "") {
  SweepDir s;
  s.dir = runner_test::scratch_dir("proc-" + label);
  runner_test::write_text(s.dir + "/base.toml", runner_test::tiny_base_toml(base_extra));
  s.sweep = s.dir + "/sweep.toml";
  runner_test::write_text(s.sweep, "base = \"base.toml\"\n" + body);
  s.out = s.dir + "/out";
  return s;
}

// Run ids listed by --dry-run (lines that start with the 12-hex id).
std::set<std::string> listed_ids(const std::string& output) {
  std::set<std::string> ids;
  static const std::regex line(R"(^([0-9a-f]{12})\s+\S+\s+(\S+))");
  std::istringstream in(output);
  std::string l;
  while (std::getline(in, l)) {
    std::smatch m;
    if (std::regex_search(l, m, line)) ids.insert(m[1]);
  }
  return ids;
}

std::map<std::string, IndexEntry> index_by_name(const std::string& out) {
  std::map<std::string, IndexEntry> m;
  for (auto& e : read_merged_index(out)) m[e.name] = e;
  return m;
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// Every /steps and /eval column except timings and peak bytes (they measure the machine).
std::map<std::string, std::vector<double>> numeric_columns(const std::string& log) {
  std::map<std::string, std::vector<double>> out;
  for (const char* group : {"steps", "eval"})
    for (auto& c : read_run_log_table(log, group)) {
      if (c.name.rfind("time_", 0) == 0 || c.name == "peak_autograd_bytes") continue;
      out[std::string(group) + "/" + c.name] = std::move(c.values);
    }
  return out;
}

bool same_numbers(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

std::vector<std::string> run_names(const std::string& out) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out + "/runs")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

template <class Pred>
bool wait_until(Pred pred, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Processes whose command line contains every needle (scanning /proc).
std::vector<pid_t> pids_with(const std::vector<std::string>& needles) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = runner_test::read_text(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    bool all = !cmdline.empty();
    for (const auto& n : needles) all = all && cmdline.find(n) != std::string::npos;
    if (all) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

const char* const kFourRuns = R"(
[[grid]]
"method.name" = ["refl", "leapalign"]
"train.seed" = [1, 2]
)";

}  // namespace

TEST_CASE("--dry-run validates and lists every run, starting nothing") {
  const SweepDir s = make_sweep("dry", kFourRuns);
  const auto r = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--dry-run"});
  CHECK(r.exit_code == 0);
  CHECK(listed_ids(r.output).size() == 4);
  CHECK(r.output.find("leapalign_seed2_") != std::string::npos);
  CHECK_FALSE(fs::exists(s.out));

  const SweepDir bad = make_sweep("dry-bad", "[[grid]]\n\"method.name\" = [\"refl\", \"leapalin\"]\n");
  const auto b = runner_test::run_flowbp({"sweep", bad.sweep, "--dry-run"});
  CHECK(b.exit_code == 2);
  CHECK(b.output.find("sweep.toml:3:") != std::string::npos);
  CHECK(b.output.find("did you mean 'leapalign'") != std::string::npos);
}

TEST_CASE("one failing run does not stop the others; it is recorded, and rerun only with --retry-failed") {
  // lr = 1e30 drives the weights to infinity: the trainer stops that run with a
  // non-finite value and exit code 3.
  const SweepDir s = make_sweep("failing", "[[grid]]\n\"train.lr\" = [1e-3, 1e30]\n\"train.seed\" = [1, 2]\n");
  const auto r = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--jobs", "2", "--quiet"});
  CHECK(r.exit_code == 3);
  auto index = index_by_name(s.out);
  REQUIRE(index.size() == 4);
  int done = 0, failed = 0;
  for (const auto& [name, e] : index) {
    CAPTURE(name);
    const bool huge = name.find("lr1e+30") != std::string::npos;
    CHECK(e.state == (huge ? "failed" : "done"));
    if (huge) {
      CHECK(e.exit_code == 3);
      CHECK_FALSE(e.reason.empty());
      const RunLogSummary log = read_run_log_summary(s.out + "/runs/" + name + "/log.h5");
      CHECK(log.state == "failed");
      CHECK(e.reason == log.reason);
    }
    done += e.state == "done";
    failed += e.state == "failed";
  }
  CHECK(done == 2);
  CHECK(failed == 2);

  // --resume: nothing left to do; failed runs stay failed and are not started again.
  const auto again = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--resume", "--quiet"});
  CHECK(again.exit_code == 3);
  for (const auto& [name, e] : index_by_name(s.out)) CHECK(e.attempts == index[name].attempts);

  // --retry-failed: the failed directories move aside and the runs start over.
  const auto retry = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--retry-failed", "--quiet"});
  CHECK(retry.exit_code == 3);
  int aside = 0;
  for (const auto& f : fs::directory_iterator(s.out + "/failed_attempts")) aside += f.is_directory();
  CHECK(aside == 2);
  for (const auto& [name, e] : index_by_name(s.out)) {
    CAPTURE(name);
    const bool huge = name.find("lr1e+30") != std::string::npos;
    CHECK(e.attempts == index[name].attempts + (huge ? 1 : 0));
    CHECK(count_of(runner_test::read_text(s.out + "/logs/" + name + ".log"), "=== flowbp sweep: attempt") ==
          (huge ? 2 : 1));
  }

  // Without --resume an existing output directory is refused, not overwritten.
  const auto refuse = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--quiet"});
  CHECK(refuse.exit_code == 2);
  CHECK(refuse.output.find("--resume") != std::string::npos);
}

TEST_CASE("a sweep killed with SIGKILL resumes to the same results as an uninterrupted one") {
  // Long enough (about a second or two per run) to be caught mid-run, with checkpoints on the way.
  const std::string body = std::string(kFourRuns) + "[set]\n\"train.steps\" = 600\n\"train.checkpoint_every\" = 40\n";
  const SweepDir ref = make_sweep("kill-reference", body);
  const auto r = runner_test::run_flowbp({"sweep", ref.sweep, "--out", ref.out, "--jobs", "2", "--quiet"});
  REQUIRE(r.exit_code == 0);

  const SweepDir s = make_sweep("kill", body);
  const pid_t pid = runner_test::start_flowbp({"sweep", s.sweep, "--out", s.out, "--jobs", "2"}, s.dir + "/sweep.out");
  // Kill once a run of the second wave (leapalign: the grid's runs start in file
  // order, two at a time) is under way past its first checkpoint.
  const bool mid = wait_until(
      [&] {
        if (!fs::exists(s.out + "/sweep_index.tsv")) return false;
        for (const auto& [name, e] : index_by_name(s.out))
          if (name.rfind("leapalign", 0) == 0 && e.state == "running" &&
              fs::exists(s.out + "/runs/" + name + "/checkpoint.bin"))
            return true;
        return false;
      },
      180);
  ::kill(pid, SIGKILL);
  CHECK(runner_test::wait_for(pid) == 128 + SIGKILL);
  REQUIRE_MESSAGE(mid, runner_test::read_text(s.dir + "/sweep.out"));

  // The runs die with the runner: their locks are released.
  std::set<std::string> done_before;
  for (const auto& [name, e] : index_by_name(s.out)) {
    CHECK(wait_until([&] { return runner_test::lock_is_free(s.out + "/locks/" + name + ".lock"); }, 20));
    if (e.state == "done") done_before.insert(name);
  }
  CHECK(done_before.size() < 4);
  // Whatever was killed mid-write is still a readable log.
  for (const auto& name : run_names(s.out))
    if (fs::exists(s.out + "/runs/" + name + "/log.h5"))
      CHECK_NOTHROW(read_run_log_summary(s.out + "/runs/" + name + "/log.h5"));

  const auto resumed = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--jobs", "2", "--resume", "--quiet"});
  CHECK(resumed.exit_code == 0);
  REQUIRE(run_names(s.out) == run_names(ref.out));
  int continued = 0;  // runs the resume continued from a checkpoint rather than started
  for (const auto& name : run_names(s.out))
    continued += count_of(runner_test::read_text(s.out + "/logs/" + name + ".log"), "continuing an interrupted run");
  CHECK(continued >= 1);
  for (const auto& name : run_names(s.out)) {
    CAPTURE(name);
    const std::string log = s.out + "/runs/" + name + "/log.h5";
    CHECK(read_run_log_summary(log).state == "done");
    const auto got = numeric_columns(log);
    const auto want = numeric_columns(ref.out + "/runs/" + name + "/log.h5");
    REQUIRE(want.size() > 20);  // loss, rewards, norms, residuals, indices, eval metrics …
    REQUIRE(got.size() == want.size());
    for (const auto& [column, values] : want) {
      CAPTURE(column);
      CHECK(same_numbers(got.at(column), values));
    }
    // a run finished before the kill was not started again
    const int attempts = count_of(runner_test::read_text(s.out + "/logs/" + name + ".log"), "=== flowbp sweep: attempt");
    if (done_before.count(name)) CHECK(attempts == 1);
  }
}

TEST_CASE("SIGTERM stops the runs cleanly; --resume finishes them") {
  const SweepDir s = make_sweep("sigterm", "[[grid]]\n\"train.seed\" = [1, 2]\n[set]\n\"train.steps\" = 3000\n"
                                           "\"train.checkpoint_every\" = 100\n");
  const pid_t pid = runner_test::start_flowbp({"sweep", s.sweep, "--out", s.out, "--jobs", "2"}, s.dir + "/sweep.out");
  const bool started = wait_until(
      [&] {
        if (!fs::exists(s.out + "/sweep_index.tsv")) return false;
        for (const auto& [name, e] : index_by_name(s.out))
          if (e.state == "running" && fs::exists(s.out + "/runs/" + name + "/log.h5")) return true;
        return false;
      },
      180);
  // --status while it runs: the live runs show as running, with their step.
  const auto live = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--status"});
  CHECK(live.output.find("running") != std::string::npos);
  CHECK(live.exit_code == 1);
  ::kill(pid, SIGTERM);
  const int code = runner_test::wait_for(pid, 60);
  REQUIRE_MESSAGE(started, runner_test::read_text(s.dir + "/sweep.out"));
  const std::string output = runner_test::read_text(s.dir + "/sweep.out");
  CAPTURE(output);
  CHECK(code == 130);
  CHECK(output.find("--resume") != std::string::npos);
  int interrupted = 0;
  for (const auto& [name, e] : index_by_name(s.out)) {
    CHECK(e.state != "running");
    CHECK(runner_test::lock_is_free(s.out + "/locks/" + name + ".lock"));
    interrupted += e.state == "interrupted";
  }
  CHECK(interrupted >= 1);
  const auto resumed = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--jobs", "2", "--resume", "--quiet"});
  CHECK(resumed.exit_code == 0);
  for (const auto& [name, e] : index_by_name(s.out)) CHECK(e.state == "done");
  const auto status = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--status"});
  CHECK(status.exit_code == 0);
  CHECK(status.output.find("2 runs: 2 done") != std::string::npos);
}

TEST_CASE("the Slurm array's tasks are the shards: together they run the sweep once") {
  const SweepDir s = make_sweep("slurm", "[[grid]]\n\"method.name\" = [\"refl\", \"leapalign\", \"flowbp-sparse\"]\n"
                                         "\"train.seed\" = [1, 2, 3]\n");
  const auto all = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--dry-run"});
  REQUIRE(all.exit_code == 0);
  const std::set<std::string> every = listed_ids(all.output);
  REQUIRE(every.size() == 9);

  const std::string script = s.dir + "/job.sh";
  const auto emit = runner_test::run_flowbp(
      {"sweep", s.sweep, "--out", s.out, "--emit-slurm", script, "--jobs-per-task", "2", "--sbatch=--partition=cpu"});
  REQUIRE(emit.exit_code == 0);
  const std::string text = runner_test::read_text(script);
  CHECK(text.find("#SBATCH --array=0-4\n") != std::string::npos);  // ceil(9 / 2) tasks
  CHECK(text.find("#SBATCH --partition=cpu\n") != std::string::npos);
  CHECK(fs::is_directory(s.out + "/slurm"));
  std::multiset<std::string> seen;
  for (int task = 0; task < 5; ++task) {
    const auto r = runner_test::run({"/bin/bash", script, "--dry-run"}, {{"SLURM_ARRAY_TASK_ID", std::to_string(task)}});
    CAPTURE(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("shard " + std::to_string(task) + "/5") != std::string::npos);
    for (const auto& id : listed_ids(r.output)) seen.insert(id);
  }
  CHECK(seen.size() == every.size());
  for (const auto& id : every) CHECK(seen.count(id) == 1);
  CHECK(runner_test::run({"/bin/bash", script, "--dry-run"}).exit_code != 0);  // no task id: refuse
}

TEST_CASE("shards run into one directory; the merged status sees every run") {
  const SweepDir s = make_sweep("shards", "[[grid]]\n\"train.seed\" = [1, 2, 3]\n[set]\n\"train.steps\" = 4\n");
  for (const char* shard : {"0/2", "1/2"}) {
    const auto r = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--shard", shard, "--quiet"});
    CHECK(r.exit_code == 0);
  }
  CHECK(fs::exists(s.out + "/sweep_index.shard-0-of-2.tsv"));
  CHECK(fs::exists(s.out + "/sweep_index.shard-1-of-2.tsv"));
  CHECK(read_index(s.out + "/sweep_index.shard-0-of-2.tsv").size() +
            read_index(s.out + "/sweep_index.shard-1-of-2.tsv").size() == 3);
  const auto status = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--status"});
  CHECK(status.exit_code == 0);
  CHECK(status.output.find("3 runs: 3 done") != std::string::npos);
  // an unsharded --resume finds nothing left to run
  const auto again = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--resume", "--quiet"});
  CHECK(again.exit_code == 0);
  for (const auto& e : read_index(s.out + "/sweep_index.tsv")) {
    CHECK(e.state == "done");
    CHECK(count_of(runner_test::read_text(s.out + "/logs/" + e.name + ".log"), "=== flowbp sweep: attempt") == 1);
  }
}

TEST_CASE("a run that crashes is recorded as failed; the others finish; --retry-failed continues it") {
  const SweepDir s = make_sweep("crash", "[[grid]]\n\"train.seed\" = [1, 2]\n[set]\n\"train.steps\" = 1500\n"
                                         "\"train.checkpoint_every\" = 50\n");
  const pid_t pid = runner_test::start_flowbp({"sweep", s.sweep, "--out", s.out, "--jobs", "2"}, s.dir + "/sweep.out");
  std::string victim;
  const bool found = wait_until(
      [&] {
        if (!fs::exists(s.out + "/sweep_index.tsv")) return false;
        for (const auto& [name, e] : index_by_name(s.out))
          if (name.find("seed1") != std::string::npos && e.state == "running" &&
              fs::exists(s.out + "/runs/" + name + "/checkpoint.bin")) {
            victim = name;
            return true;
          }
        return false;
      },
      180);
  REQUIRE_MESSAGE(found, runner_test::read_text(s.dir + "/sweep.out"));
  const auto children = pids_with({" train ", s.out + "/configs/" + victim + ".toml"});
  REQUIRE(children.size() == 1);
  ::kill(children.front(), SIGKILL);  // a crash, as far as the sweep can tell
  CHECK(runner_test::wait_for(pid) == 3);
  auto index = index_by_name(s.out);
  REQUIRE(index.size() == 2);
  for (const auto& [name, e] : index) {
    CAPTURE(name);
    if (name == victim) {
      CHECK(e.state == "failed");
      CHECK(e.exit_code == 128 + SIGKILL);
      CHECK(e.reason.find("killed by signal 9 (SIGKILL)") != std::string::npos);
    } else {
      CHECK(e.state == "done");
    }
  }
  // Kept failed by --resume ...
  CHECK(runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--resume", "--quiet"}).exit_code == 3);
  CHECK(index_by_name(s.out)[victim].attempts == 1);
  // ... continued from its checkpoint by --retry-failed (its log was never marked failed).
  CHECK(runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out, "--retry-failed", "--quiet"}).exit_code == 0);
  index = index_by_name(s.out);
  CHECK(index[victim].state == "done");
  CHECK(index[victim].attempts == 2);
  CHECK(runner_test::read_text(s.out + "/logs/" + victim + ".log").find("continuing an interrupted run") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(s.out + "/failed_attempts"));
  const RunLogSummary log = read_run_log_summary(s.out + "/runs/" + victim + "/log.h5");
  CHECK(log.state == "done");
  CHECK(log.steps_done == 1500);
}

TEST_CASE("bad invocations and inputs are refused before any run starts, each named") {
  const SweepDir s = make_sweep("refusals", kFourRuns);
  auto refused = [&](const std::vector<std::string>& args, const std::string& message) {
    CAPTURE(message);
    const auto r = runner_test::run_flowbp(args);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(message) != std::string::npos);
    INFO(r.output);
  };
  refused({"sweep", s.sweep, "--out", s.out, "--resume"},
          s.out + " holds no sweep to resume (no sweep_runs.tsv): drop --resume");
  refused({"sweep", s.sweep, "--out", s.out, "--emit-slurm", "--slurm-time", "banana"},
          "--slurm-time 'banana' is not a Slurm time limit");
  refused({"sweep", s.sweep, "--out", s.out, "--emit-slurm", "--tasks", "9"},
          "--tasks 9: the sweep has 4 runs");
  refused({"sweep", s.sweep, "--out", s.out, "--emit-slurm", "--jobs", "2"},
          "--jobs applies to a sweep run here; with --emit-slurm use --jobs-per-task");
  refused({"sweep", s.sweep, "--out", s.out, "--tasks", "2"}, "--tasks only applies with --emit-slurm");
  refused({"sweep", s.dir, "--dry-run"}, s.dir + ": is a directory; give the sweep's .toml file");
  CHECK_FALSE(fs::exists(s.out));

  const SweepDir base_dir = make_sweep("base-dir", kFourRuns);
  runner_test::write_text(base_dir.sweep, "base = \".\"\n" + std::string(kFourRuns));
  refused({"sweep", base_dir.sweep, "--dry-run"}, "is a directory; give the base experiment's .toml file");

  const SweepDir typo = make_sweep("axis-typo", "[[grid]]\n\"train.seeed\" = [1, 2]\n\"backbone.hiden\" = [32, 64]\n");
  refused({"sweep", typo.sweep, "--dry-run"}, "unknown key 'seeed' in [train] (did you mean 'seed'?)");
  refused({"sweep", typo.sweep, "--dry-run"}, "unknown key 'hiden' in [backbone] (did you mean 'hidden'?)");
}

TEST_CASE("a second sweep on the same output directory is refused while the first runs") {
  const SweepDir s = make_sweep("two-at-once", kFourRuns);
  fs::create_directories(s.out + "/locks");
  const int fd = ::open((s.out + "/locks/sweep.lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const auto r = runner_test::run_flowbp({"sweep", s.sweep, "--out", s.out});
  ::close(fd);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find(s.out + ": another flowbp sweep") != std::string::npos);
  CHECK_FALSE(fs::exists(s.out + "/runs"));
}
