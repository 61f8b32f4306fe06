#include "flowbp/sweep_exec.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flowbp/child_process.h"
#include "flowbp/clock.h"
#include "flowbp/files.h"
#include "flowbp/run_log.h"
#include "flowbp/text.h"
#include "sweep_progress.h"

namespace flowbp {
namespace fs = std::filesystem;

namespace {


std::string run_dir(const ExecOptions& o, const SweepRun& r) { return o.out_dir + "/runs/" + r.name; }
std::string config_path(const ExecOptions& o, const SweepRun& r) { return o.out_dir + "/configs/" + r.name + ".toml"; }
std::string output_path(const ExecOptions& o, const SweepRun& r) { return o.out_dir + "/logs/" + r.name + ".log"; }
std::string lock_path(const ExecOptions& o, const SweepRun& r) { return o.out_dir + "/locks/" + r.name + ".lock"; }

std::string manifest_text(const std::vector<SweepRun>& runs) {
  std::string text = "id\tname\tmethod\tvarying\n";
  for (const auto& r : runs) {
    std::string varying;
    for (const auto& [k, v] : r.varying) varying += (varying.empty() ? "" : " ") + k + "=" + v;
    text += r.id + "\t" + r.name + "\t" + r.method + "\t" + varying + "\n";
  }
  return text;
}

void move_failed_aside(const ExecOptions& o, const SweepRun& r) {
  const std::string aside_dir = o.out_dir + "/failed_attempts";
  make_dirs(aside_dir);
  for (int k = 1;; ++k) {
    const std::string target = aside_dir + "/" + r.name + "." + std::to_string(k);
    if (fs::exists(target)) continue;
    std::error_code ec;
    fs::rename(run_dir(o, r), target, ec);
    if (ec) throw std::runtime_error(run_dir(o, r) + ": cannot move the failed run aside: " + ec.message());
    return;
  }
}

const char* const kAttemptHeader = "=== flowbp sweep: attempt ";

int count_attempts(const std::string& output_path) {
  const std::string text = read_file_or_empty(output_path);
  int n = 0;
  for (auto pos = text.find(kAttemptHeader); pos != std::string::npos; pos = text.find(kAttemptHeader, pos + 1)) ++n;
  return n;
}

struct Active {
  std::size_t run;
  pid_t pid;
  Clock::time_point start;
};

class Executor {
 public:
  Executor(const std::vector<SweepRun>& runs, const ExecOptions& options)
      : runs_(runs), o_(options), progress_(options.log, options.progress, static_cast<int>(runs.size()), options.jobs) {
    index_path_ = o_.out_dir + "/" + index_file_name(o_.shard.index, o_.shard.count);
  }

  ExecSummary run() {
    summary_.total = static_cast<int>(runs_.size());
    classify();
    write_index(index_path_, entries_);  // fatal here: nothing has started yet
    SignalWaiter signals;
    Clock::time_point kill_deadline{};
    std::size_t next = 0;
    for (;;) {
      while (!stopping_ && active_.size() < static_cast<std::size_t>(std::max(1, o_.jobs)) && next < queue_.size())
        launch(queue_[next++]);
      if (active_.empty() && (stopping_ || next == queue_.size())) break;
      const int sig = signals.wait_signal(500);
      if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
        if (!stopping_) {
          stopping_ = true;
          stop_signal_ = sig;
          summary_.stopped_by_signal = true;
          progress_.note(std::string("stopping: ") + (sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP") +
                         " received; asking the running runs to stop (again to kill them)");
          for (const auto& a : active_) ::kill(-a.pid, SIGTERM);
          kill_deadline = Clock::now() + std::chrono::milliseconds(o_.stop_grace_ms);
        } else {
          for (const auto& a : active_) ::kill(-a.pid, SIGKILL);
        }
      }
      reap();
      if (stopping_ && !active_.empty() && Clock::now() > kill_deadline)
        for (const auto& a : active_) ::kill(-a.pid, SIGKILL);
      if (progress_.wants_tick()) progress_.tick(running_names());
    }
    if (stopping_) {
      for (std::size_t q = next; q < queue_.size(); ++q) {
        IndexEntry& e = entries_[queue_[q]];
        e.reason = "not started: the sweep was stopped";
      }
    }
    save_index();
    progress_.finish();
    return summary_;
  }

 private:
  // After the first run starts, a failing index write (a full disk) must not stop
  // the sweep: the runs' own logs remain the truth, and --resume rebuilds the index.
  void save_index() {
    try {
      write_index(index_path_, entries_);
    } catch (const std::exception& ex) {
      if (!index_warned_) progress_.note(std::string("warning: ") + ex.what() + " (the sweep goes on)");
      index_warned_ = true;
    }
  }

  void classify() {
    std::map<std::string, IndexEntry> previous;
    std::error_code ec;
    if (fs::is_directory(o_.out_dir, ec))
      for (auto& e : read_merged_index(o_.out_dir)) previous[e.id] = e;
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      const SweepRun& r = runs_[i];
      IndexEntry e;
      if (auto it = previous.find(r.id); it != previous.end()) e = it->second;
      e.id = r.id;
      e.name = r.name;
      const RunInspection insp = inspect_run(o_.out_dir, r);
      if (insp.state == "done") {
        e.state = "done";
        e.reason.clear();
        ++summary_.done;
        ++summary_.skipped;
        progress_.already(true);
      } else if (insp.state == "failed" && !o_.retry_failed) {
        e.state = "failed";
        e.reason = insp.reason;
        ++summary_.failed;
        ++summary_.skipped;
        progress_.already(false);
      } else if (insp.state != "failed" && e.state == "failed" && !o_.retry_failed) {
        // A crash (signal, bad exit) that left no failed status in the log.
        ++summary_.failed;
        ++summary_.skipped;
        progress_.already(false);
      } else {
        if (insp.state == "failed") move_failed_aside(o_, r);
        e.state = "pending";
        queue_.push_back(i);
      }
      entries_.push_back(std::move(e));
    }
  }

  std::vector<std::string> child_argv(const SweepRun& r) const {
    std::vector<std::string> argv = {o_.flowbp_exe, "train", config_path(o_, r), "--out", o_.out_dir + "/runs",
                                     "--name", r.name, "--resume"};
    argv.push_back("--threads");
    argv.push_back(std::to_string(threads_for(r, o_)));
    for (const auto& d : o_.plugin_dirs) {
      argv.push_back("--plugin-dir");
      argv.push_back(d);
    }
    return argv;
  }

  void launch(std::size_t i) {
    const SweepRun& r = runs_[i];
    IndexEntry& e = entries_[i];
    const int lock = try_lock_file(lock_path(o_, r));
    if (lock < 0) {
      e.state = "running";
      e.reason = "held by another process (another shard or sweep)";
      ++summary_.busy;
      progress_.event("busy", r.name, e.reason);
      save_index();
      return;
    }
    // Another process may have finished it between our first look and the lock.
    const RunInspection insp = inspect_run(o_.out_dir, r);
    if (insp.state == "done") {
      ::close(lock);
      e.state = "done";
      ++summary_.done;
      progress_.event("done", r.name, "finished elsewhere");
      save_index();
      return;
    }
    ChildSpec spec;
    spec.argv = child_argv(r);
    // Spinning OpenMP workers fight over cores when several runs share a machine.
    if (!std::getenv("OMP_WAIT_POLICY")) spec.env.emplace_back("OMP_WAIT_POLICY", "PASSIVE");
    spec.env.emplace_back("OMP_NUM_THREADS", std::to_string(threads_for(r, o_)));
    spec.output_path = output_path(o_, r);
    spec.inherit_fd = lock;
    // Attempts are counted from the output file's headers: the index may be older
    // than the last start when the sweep was killed in between.
    const int attempt = std::max(e.attempts, count_attempts(spec.output_path)) + 1;
    {
      std::ofstream out(spec.output_path, std::ios::app);
      std::string cmd;
      for (const auto& a : spec.argv) cmd += (cmd.empty() ? "" : " ") + a;
      out << kAttemptHeader << attempt << " at " << utc_now_iso8601()
          << (insp.state == "partial" ? " (continuing an interrupted run)" : "") << "\n=== " << cmd << "\n";
    }
    pid_t pid = -1;
    try {
      pid = spawn_child(spec);
    } catch (const std::exception& ex) {
      ::close(lock);
      e.state = "failed";
      e.reason = ex.what();
      ++summary_.failed;
      progress_.event("failed", r.name, e.reason);
      save_index();
      return;
    }
    ::close(lock);  // the child holds it now
    e.state = "running";
    e.attempts = attempt;
    e.started_utc = utc_now_iso8601();
    e.ended_utc.clear();
    e.exit_code = -1;
    e.reason = insp.state == "partial" ? continuing_text(insp) : "";
    active_.push_back({i, pid, Clock::now()});
    progress_.set_running(running_names());
    progress_.event("start", r.name, e.reason);
    save_index();
  }

  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      auto it = std::find_if(active_.begin(), active_.end(), [pid](const Active& a) { return a.pid == pid; });
      if (it == active_.end()) continue;
      const Active a = *it;
      active_.erase(it);
      progress_.set_running(running_names());
      finish(a, status);
    }
  }

  void finish(const Active& a, int status) {
    const SweepRun& r = runs_[a.run];
    IndexEntry& e = entries_[a.run];
    const double seconds = since(a.start);
    e.ended_utc = utc_now_iso8601();
    e.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const RunInspection insp = inspect_run(o_.out_dir, r);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      e.state = "done";
      e.reason.clear();
      ++summary_.done;
      progress_.finished(true, r.name, seconds, "");
    } else if (stopping_ && insp.state != "failed") {
      e.state = "interrupted";
      e.reason = std::string("stopped by ") + (stop_signal_ == SIGINT ? "SIGINT" : stop_signal_ == SIGTERM ? "SIGTERM" : "SIGHUP") +
                 " at step " + std::to_string(insp.steps_done) + "; --resume continues it";
      ++summary_.interrupted;
      progress_.event("stopped", r.name, e.reason);
    } else {
      e.state = "failed";
      if (insp.state == "failed" && !insp.reason.empty()) {
        e.reason = insp.reason;
      } else {
        const std::string last = last_line_of(output_path(o_, r));
        e.reason = describe_wait_status(status) + (last.empty() ? "" : ": " + last);
      }
      ++summary_.failed;
      progress_.finished(false, r.name, seconds, e.reason);
    }
    save_index();
  }

  // The runs under way with their step, read from the last line of their output
  // (`flowbp train` prints "step A/B" lines; a few KiB read per run and second).
  std::vector<RunningRun> running_names() const {
    std::vector<RunningRun> out;
    for (const auto& a : active_) {
      RunningRun r;
      r.name = runs_[a.run].name;
      r.seconds = since(a.start);
      const std::string line = last_line_of(output_path(o_, runs_[a.run]));
      std::tie(r.step, r.total) = parse_step_progress(line);
      r.eta_seconds = parse_eta_seconds(line);
      out.push_back(std::move(r));
    }
    return out;
  }

  const std::vector<SweepRun>& runs_;
  const ExecOptions& o_;
  SweepProgress progress_;
  std::string index_path_;
  std::vector<IndexEntry> entries_;
  std::vector<std::size_t> queue_;
  std::vector<Active> active_;
  ExecSummary summary_;
  bool stopping_ = false;
  bool index_warned_ = false;
  int stop_signal_ = 0;
};

}  // namespace

int ExecSummary::exit_code() const {
  if (stopped_by_signal) return 130;
  if (failed > 0) return 3;
  if (busy > 0) return 4;
  return 0;
}

SweepLock::SweepLock(const ExecOptions& o) {
  make_dirs(o.out_dir + "/locks");
  const std::string shard = o.shard.count > 1 ? "-" + std::to_string(o.shard.index) + "of" + std::to_string(o.shard.count) : "";
  const std::string path = o.out_dir + "/locks/sweep" + shard + ".lock";
  fd_ = try_lock_file(path);
  if (fd_ < 0) {
    const std::string holder = read_file_or_empty(path);
    throw std::runtime_error(o.out_dir + ": another flowbp sweep" + (holder.empty() ? "" : " (pid " + holder + ")") +
                             " is running " + (shard.empty() ? "this sweep" : "this shard") +
                             " there; wait for it, or watch it with --status");
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // Only a second sweep's message would lack the pid.
  }
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) ::close(fd_);
}

void require_resumable(const ExecOptions& o) {
  if (o.resume && !fs::exists(o.out_dir + "/sweep_runs.tsv"))
    throw std::runtime_error(o.out_dir + " holds no sweep to resume (no sweep_runs.tsv): drop --resume to start the "
                             "sweep there, or give the --out of the sweep you meant");
}

void prepare_out_dir(const std::vector<SweepRun>& all_runs, const std::vector<SweepRun>& my_runs,
                     const ExecOptions& o) {
  require_resumable(o);
  if (!o.resume) {
    std::vector<std::string> existing;
    for (const auto& r : my_runs)
      if (fs::exists(run_dir(o, r))) existing.push_back(r.name);
    if (!existing.empty())
      throw std::runtime_error(o.out_dir + ": " + std::to_string(existing.size()) +
                               " run(s) of this sweep already have results there (e.g. runs/" + existing.front() +
                               "); add --resume to continue the sweep (finished runs are kept), or choose "
                               "another --out");
  }
  for (const char* sub : {"configs", "runs", "logs", "locks"}) make_dirs(o.out_dir + "/" + sub);
  write_file_atomically(o.out_dir + "/sweep_runs.tsv", manifest_text(all_runs));
  for (const auto& r : all_runs) {
    const std::string path = config_path(o, r);
    if (read_file_or_empty(path) != r.resolved_toml) write_file_atomically(path, r.resolved_toml);
  }
}

RunInspection inspect_run(const std::string& out_dir, const SweepRun& run) {
  RunInspection insp;
  const std::string dir = out_dir + "/runs/" + run.name;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    insp.state = "new";
    return insp;
  }
  const std::string log = dir + "/log.h5";
  if (!fs::exists(log, ec)) {
    insp.state = "partial";
    insp.reason = "no log yet";
    return insp;
  }
  try {
    const RunLogSummary s = read_run_log_summary(log);
    insp.steps_done = s.steps_done;
    insp.checkpoint_step = s.checkpoint_step;
    insp.steps_total = s.steps_total;
    insp.reason = s.reason;
    insp.state = s.state == "done" ? "done" : s.state == "failed" ? "failed" : "partial";
  } catch (const std::exception& e) {
    // Open elsewhere (HDF5 locks a file being written) or damaged: the trainer's
    // --resume decides what can be kept.
    insp.state = "partial";
    insp.reason = e.what();
  }
  return insp;
}

std::string continuing_text(const RunInspection& insp) {
  if (insp.checkpoint_step > 0)
    return "continuing after its checkpoint at step " + std::to_string(insp.checkpoint_step) + " (" +
           std::to_string(insp.steps_done) + " steps logged)";
  if (insp.checkpoint_step == 0) return "starting again: no checkpoint yet (" + std::to_string(insp.steps_done) + " steps logged)";
  return "continuing from its last checkpoint (" + std::to_string(insp.steps_done) + " steps logged)";
}

int threads_for(const SweepRun& run, const ExecOptions& o) {
  if (o.threads > 0) return o.threads;
  const int cap = std::max(1, o.cores / std::max(1, o.jobs));
  return std::max(1, std::min(run.threads, cap));
}

ExecSummary execute_sweep(const std::vector<SweepRun>& runs, const ExecOptions& options) {
  Executor executor(runs, options);
  return executor.run();
}

}  // namespace flowbp
