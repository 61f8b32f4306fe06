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

class SweepProgress {
 public:
  SweepProgress(std::FILE* out, bool enabled, int total, int jobs);
  void already(bool done);  // a run finished (done or failed) before this invocation
  void event(const std::string& what, const std::string& run, const std::string& detail);
  void finished(bool ok, const std::string& run, double seconds, const std::string& reason);
  void note(const std::string& text);
  void tick(const std::vector<std::pair<std::string, double>>& running);  // name, seconds so far
  void finish();

  // "1h02m", "3m05s", "12s".
  static std::string duration_text(double seconds);

 private:
  std::string status_line(const std::vector<std::pair<std::string, double>>& running) const;
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
  std::vector<std::pair<std::string, double>> last_running_;
};

}  // namespace flowbp
