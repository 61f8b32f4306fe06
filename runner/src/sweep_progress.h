// The sweep's progress display: runs done / failed / running / left and an ETA.
// On a terminal one line is redrawn; otherwise each event is a line, plus a
// heartbeat every minute, so logs of batch jobs stay readable.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace flowbp {

// A run under way, as the progress line shows it.
struct RunningRun {
  std::string name;
  double seconds = 0;           // since it started
  long long step = -1, total = -1;  // from its output, -1 when not known yet
  double eta_seconds = -1;          // the run's own ETA from its output, -1 when not known
};

// "step 120/300" in a line of `flowbp train` output: (120, 300); (-1, -1) if absent.
std::pair<long long, long long> parse_step_progress(const std::string& line);

// "ETA 3m05s" (also "42s", "1h02m") in a line of `flowbp train` output: seconds; -1 if
// absent. The trainer's ETA counts only training steps, so it stays right for a resumed
// run and through an evaluation, where the step fraction over the wall time does not.
double parse_eta_seconds(const std::string& line);

class SweepProgress {
 public:
  SweepProgress(std::FILE* out, bool enabled, int total, int jobs);
  void already(bool done);  // a run finished (done or failed) before this invocation
  void event(const std::string& what, const std::string& run, const std::string& detail);
  void finished(bool ok, const std::string& run, double seconds, const std::string& reason);
  void note(const std::string& text);
  // The runs under way: call before event()/finished() so the
  // lines they print count them right.
  void set_running(std::vector<RunningRun> running) { last_running_ = std::move(running); }
  bool wants_tick() const;  // whether tick() would draw now (saves reading the runs' output)
  void tick(const std::vector<RunningRun>& running);
  void finish();

  // "1h02m", "3m05s", "12s".
  static std::string duration_text(double seconds);

  // "sweep: 3/16 done, 0 failed, 2 running, 11 left | 5m01s elapsed, ETA 20m12s".
  std::string status_line(const std::vector<RunningRun>& running) const;

 private:
  void print_line(const std::string& line);
  void clear_live();

  std::FILE* out_;
  bool enabled_, tty_;
  int total_, jobs_;
  int done_ = 0, failed_ = 0, running_ = 0;
  int finished_here_ = 0;
  double seconds_here_ = 0;  // total duration of the runs finished by this invocation
  std::chrono::steady_clock::time_point start_, last_draw_, last_heartbeat_;
  bool live_ = false;
  std::vector<RunningRun> last_running_;
};

}  // namespace flowbp
