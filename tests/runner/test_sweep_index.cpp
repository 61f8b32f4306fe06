// The sweep index (atomic rewrite, shard merge), shard slices and the Slurm script.
#include <doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "flowbp/sweep_exec.h"
#include "flowbp/sweep_index.h"
#include "flowbp/sweep_shard.h"
#include "runner_fixture.h"
#include "src/sweep_progress.h"

using namespace flowbp;

namespace {

IndexEntry entry(const std::string& id, const std::string& state, const std::string& started,
                 const std::string& ended, const std::string& reason = "") {
  IndexEntry e;
  e.id = id;
  e.name = "run_" + id;
  e.state = state;
  e.started_utc = started;
  e.ended_utc = ended;
  e.reason = reason;
  e.exit_code = state == "done" ? 0 : state == "failed" ? 3 : -1;
  e.attempts = state == "pending" ? 0 : 1;
  return e;
}

std::vector<SweepRun> fake_runs(int n) {
  std::vector<SweepRun> runs;
  for (int i = 0; i < n; ++i) {
    SweepRun r;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%012x", (i * 2654435761u) & 0xffffffu);
    r.id = buf;
    r.name = "r" + std::to_string(i);
    runs.push_back(r);
  }
  return runs;
}

}  // namespace

TEST_CASE("index rows round-trip, reasons stay on one line") {
  const std::string dir = runner_test::scratch_dir("index-roundtrip");
  std::vector<IndexEntry> in = {entry("aaaaaaaaaaaa", "done", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"),
                                entry("bbbbbbbbbbbb", "failed", "2024-01-01T00:00:00Z", "2024-01-01T00:00:30Z",
                                      "non-finite loss\tat step 3\nsecond line"),
                                entry("cccccccccccc", "pending", "", "")};
  write_index(dir + "/sweep_index.tsv", in);
  const auto out = read_index(dir + "/sweep_index.tsv");
  REQUIRE(out.size() == 3);
  CHECK(out[0].state == "done");
  CHECK(out[0].exit_code == 0);
  CHECK(out[1].reason == "non-finite loss at step 3 second line");
  CHECK(out[2].started_utc.empty());
  CHECK(out[2].attempts == 0);
  // no temp files left behind
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) files += f.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("a malformed index names the file and line") {
  const std::string dir = runner_test::scratch_dir("index-bad");
  write_index(dir + "/sweep_index.tsv", {entry("aaaaaaaaaaaa", "done", "t", "t")});
  runner_test::write_text(dir + "/sweep_index.tsv",
                          runner_test::read_text(dir + "/sweep_index.tsv") + "only\ttwo\n");
  CHECK_THROWS_WITH(read_index(dir + "/sweep_index.tsv"), doctest::Contains("sweep_index.tsv:3"));
  runner_test::write_text(dir + "/other.tsv", "something else\n");
  CHECK_THROWS_WITH(read_index(dir + "/other.tsv"), doctest::Contains("not a flowbp sweep index"));
}

TEST_CASE("shard indexes merge by run id, the latest update winning") {
  const std::string dir = runner_test::scratch_dir("index-merge");
  write_index(dir + "/" + index_file_name(0, 2),
              {entry("aaaaaaaaaaaa", "done", "2024-01-01T00:00:00Z", "2024-01-01T00:05:00Z"),
               entry("cccccccccccc", "running", "2024-01-01T00:06:00Z", "")});
  write_index(dir + "/" + index_file_name(1, 2),
              {entry("bbbbbbbbbbbb", "failed", "2024-01-01T00:00:00Z", "2024-01-01T00:02:00Z", "boom")});
  // an unsharded resume later finished c
  write_index(dir + "/" + index_file_name(0, 1),
              {entry("cccccccccccc", "done", "2024-01-01T00:07:00Z", "2024-01-01T00:09:00Z")});
  const auto merged = read_merged_index(dir);
  REQUIRE(merged.size() == 3);
  std::map<std::string, IndexEntry> by_id;
  for (const auto& e : merged) by_id[e.id] = e;
  CHECK(by_id["aaaaaaaaaaaa"].state == "done");
  CHECK(by_id["bbbbbbbbbbbb"].state == "failed");
  CHECK(by_id["bbbbbbbbbbbb"].reason == "boom");
  CHECK(by_id["cccccccccccc"].state == "done");
  CHECK(index_file_name(2, 5) == "sweep_index.shard-2-of-5.tsv");
}

TEST_CASE("shards are disjoint, cover the sweep and are balanced") {
  const auto runs = fake_runs(23);
  for (int n : {1, 2, 3, 5, 23, 30}) {
    CAPTURE(n);
    std::multiset<std::string> seen;
    std::size_t smallest = runs.size(), largest = 0;
    for (int i = 0; i < n; ++i) {
      const auto slice = shard_runs(runs, Shard{i, n});
      smallest = std::min(smallest, slice.size());
      largest = std::max(largest, slice.size());
      for (const auto& r : slice) seen.insert(r.id);
      CHECK(shard_runs(runs, Shard{i, n}).size() == slice.size());  // deterministic
    }
    CHECK(seen.size() == runs.size());
    for (const auto& r : runs) CHECK(seen.count(r.id) == 1);
    CHECK(largest - smallest <= 1);
  }
  // membership depends on the ids only, not on the order the runs come in
  auto reversed = runs;
  std::reverse(reversed.begin(), reversed.end());
  std::set<std::string> a, b;
  for (const auto& r : shard_runs(runs, Shard{1, 3})) a.insert(r.id);
  for (const auto& r : shard_runs(reversed, Shard{1, 3})) b.insert(r.id);
  CHECK(a == b);
}

TEST_CASE("--shard text") {
  CHECK(parse_shard("0/4").index == 0);
  CHECK(parse_shard("3/4").count == 4);
  for (const char* bad : {"4/4", "-1/4", "1/0", "1", "a/b", "1/4x", "/4"})
    CHECK_THROWS_AS(parse_shard(bad), std::invalid_argument);
}

TEST_CASE("the Slurm script is an array of shards and valid bash") {
  SlurmOptions o;
  o.flowbp_exe = "/opt/flowbp/bin/flowbp";
  o.sweep_path = "/home/me/sweeps/main sweep.toml";
  o.out_dir = "/scratch/me/main";
  o.job_name = "flowbp-main";
  o.tasks = 6;
  o.jobs_per_task = 2;
  o.threads_per_run = 4;
  o.time_limit = "02:00:00";
  o.sbatch_lines = {"--partition=cpu"};
  o.extra_args = {"--plugin-dir", "/opt/plugins"};
  const std::string s = slurm_script(o);
  CHECK(s.rfind("#!/bin/bash\n", 0) == 0);
  CHECK(s.find("#SBATCH --array=0-5\n") != std::string::npos);
  CHECK(s.find("#SBATCH --cpus-per-task=8\n") != std::string::npos);
  CHECK(s.find("#SBATCH --time=02:00:00\n") != std::string::npos);
  CHECK(s.find("#SBATCH --partition=cpu\n") != std::string::npos);
  CHECK(s.find("--shard \"${SLURM_ARRAY_TASK_ID}/6\"") != std::string::npos);
  CHECK(s.find("'/home/me/sweeps/main sweep.toml'") != std::string::npos);
  CHECK(s.find("--jobs 2 --threads 4 --resume --plugin-dir /opt/plugins") != std::string::npos);
  // every #SBATCH line comes before the first command, or sbatch ignores it
  const auto first_command = s.find("\nset -euo pipefail");
  CHECK(s.rfind("#SBATCH", first_command) != std::string::npos);
  CHECK(s.find("#SBATCH", first_command) == std::string::npos);
  const std::string dir = runner_test::scratch_dir("slurm-syntax");
  runner_test::write_text(dir + "/job.sh", s);
  CHECK(runner_test::run({"/bin/bash", "-n", dir + "/job.sh"}).exit_code == 0);
}

TEST_CASE("a run's step is read from its progress output") {
  using flowbp::parse_step_progress;
  CHECK(parse_step_progress("refl_seed1_4ad9a850: step 24/60 ( 40%)  loss 0.3681  reward 0.5593") ==
        std::make_pair(24LL, 60LL));
  CHECK(parse_step_progress("resuming after step 40 from runs/x/checkpoint.bin") == std::make_pair(-1LL, -1LL));
  CHECK(parse_step_progress("run failed: non-finite reward (nan) at step 2") == std::make_pair(-1LL, -1LL));
  CHECK(parse_step_progress("") == std::make_pair(-1LL, -1LL));
  CHECK(parse_step_progress("step 7/5") == std::make_pair(-1LL, -1LL));
  CHECK(flowbp::parse_eta_seconds("x: step 1/100 (  1%)  loss 0.7447  reward -0.7447  0.2 it/s  ETA 8m46s") == 526);
  CHECK(flowbp::parse_eta_seconds("ETA 1h02m") == 3720);
  CHECK(flowbp::parse_eta_seconds("ETA 42s") == 42);
  CHECK(flowbp::parse_eta_seconds("x: step 3/100 ETA ?") == -1);
  CHECK(flowbp::parse_eta_seconds("no estimate here") == -1);
  // A resumed run, or one that evaluated before its first step: 60 s gone at step 1/100,
  // its own ETA 120 s. The step fraction would predict 6000 s; the run's ETA is used.
  flowbp::SweepProgress progress(nullptr, false, 3, 1);
  flowbp::RunningRun run{"a", 60, 1, 100, 120};
  const std::string line = progress.status_line({run});
  INFO(line);
  CHECK(line.find("ETA 8m00s") != std::string::npos);  // 120 s + 2 runs left x (60 + 120) s
  run.eta_seconds = -1;
  CHECK(progress.status_line({run}).find("ETA 4h") != std::string::npos);  // the fraction alone
  CHECK(flowbp::SweepProgress::duration_text(3725) == "1h02m");
  CHECK(flowbp::SweepProgress::duration_text(185) == "3m05s");
  CHECK(flowbp::SweepProgress::duration_text(12.4) == "12s");
}

TEST_CASE("threads per run: the config's, capped so that jobs x threads fits the cores") {
  SweepRun run;
  run.threads = 4;
  ExecOptions o;
  o.cores = 8;
  o.jobs = 1;
  CHECK(threads_for(run, o) == 4);
  o.jobs = 4;
  CHECK(threads_for(run, o) == 2);
  o.jobs = 16;
  CHECK(threads_for(run, o) == 1);
  o.threads = 3;  // --threads wins
  CHECK(threads_for(run, o) == 3);
}

TEST_CASE("Slurm time limits are checked as sbatch reads them") {
  using flowbp::is_slurm_time;
  for (const char* ok : {"30", "30:00", "04:00:00", "2-12", "2-12:30", "2-12:30:00", "infinite", "UNLIMITED"})
    CHECK_MESSAGE(is_slurm_time(ok), ok);
  for (const char* bad : {"", "banana", "4h", "1:2:3:4", "2-", "-3", "1.5", "12:ab"})
    CHECK_FALSE_MESSAGE(is_slurm_time(bad), bad);
}
