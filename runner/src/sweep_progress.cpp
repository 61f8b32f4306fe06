#include "sweep_progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>

namespace flowbp {

using Clock = std::chrono::steady_clock;

std::pair<long long, long long> parse_step_progress(const std::string& line) {
  // The last "step A/B" in the line: the trainer's progress format.
  for (auto pos = line.rfind("step "); pos != std::string::npos; pos = pos ? line.rfind("step ", pos - 1) : std::string::npos) {
    long long a = 0, b = 0;
    char slash = 0;
    int used = 0;
    if (std::sscanf(line.c_str() + pos + 5, "%lld%c%lld%n", &a, &slash, &b, &used) == 3 && slash == '/' && b > 0 &&
        a >= 0 && a <= b)
      return {a, b};
    if (pos == 0) break;
  }
  return {-1, -1};
}

double parse_eta_seconds(const std::string& line) {
  const auto pos = line.rfind("ETA ");
  if (pos == std::string::npos) return -1;
  const char* p = line.c_str() + pos + 4;
  double total = 0;
  bool any = false;
  while (*p) {
    char* end = nullptr;
    const long value = std::strtol(p, &end, 10);
    if (end == p || value < 0) break;
    const char unit = *end;
    const double scale = unit == 'h' ? 3600 : unit == 'm' ? 60 : unit == 's' ? 1 : 0;
    if (scale == 0) return -1;
    total += scale * static_cast<double>(value);
    any = true;
    p = end + 1;
  }
  return any ? total : -1;
}

SweepProgress::SweepProgress(std::FILE* out, bool enabled, int total, int jobs)
    : out_(out), enabled_(enabled && out != nullptr), tty_(out && ::isatty(::fileno(out))), total_(total),
      jobs_(std::max(1, jobs)), start_(Clock::now()), last_draw_(start_), last_heartbeat_(start_) {}

std::string SweepProgress::duration_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

void SweepProgress::already(bool done) { (done ? done_ : failed_) += 1; }

std::string SweepProgress::status_line(const std::vector<RunningRun>& running) const {
  const int left = total_ - done_ - failed_ - static_cast<int>(running.size());
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string line = "sweep: " + std::to_string(done_) + "/" + std::to_string(total_) + " done, " +
                     std::to_string(failed_) + " failed, " + std::to_string(running.size()) + " running, " +
                     std::to_string(std::max(0, left)) + " left | " + duration_text(elapsed) + " elapsed";
  // A running run's own step fraction predicts its total time; finished runs give the mean.
  double mean = finished_here_ > 0 ? seconds_here_ / finished_here_ : 0;
  bool known = finished_here_ > 0;
  double work = 0;
  for (const auto& r : running) {
    if (r.eta_seconds >= 0) {
      work += r.eta_seconds;
      if (!known) mean = r.seconds + r.eta_seconds;
      known = true;
    } else if (r.step > 0 && r.total > 0) {
      const double predicted = r.seconds * static_cast<double>(r.total) / static_cast<double>(r.step);
      work += std::max(0.0, predicted - r.seconds);
      if (!known) mean = predicted;
      known = true;
    } else {
      work += std::max(0.0, mean - r.seconds);
    }
  }
  work += std::max(0, left) * mean;
  if (left > 0 || !running.empty()) {
    const int slots = std::max(1, std::min(jobs_, std::max(0, left) + static_cast<int>(running.size())));
    line += known ? ", ETA " + duration_text(work / slots) : ", ETA ?";
  }
  return line;
}

void SweepProgress::clear_live() {
  if (live_) {
    std::fputs("\r\033[K", out_);
    live_ = false;
  }
}

void SweepProgress::print_line(const std::string& line) {
  clear_live();
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void SweepProgress::event(const std::string& what, const std::string& run, const std::string& detail) {
  if (what == "start") ++running_;
  if (what == "stopped") --running_;
  if (what == "done") ++done_;
  if (!enabled_) return;
  print_line("[" + what + "] " + run + (detail.empty() ? "" : ": " + detail));
}

void SweepProgress::finished(bool ok, const std::string& run, double seconds, const std::string& reason) {
  --running_;
  (ok ? done_ : failed_) += 1;
  finished_here_ += 1;
  seconds_here_ += seconds;
  if (!enabled_) return;
  print_line(std::string(ok ? "[done] " : "[FAILED] ") + run + " (" + duration_text(seconds) + ")" +
             (reason.empty() ? "" : ": " + reason));
  if (!tty_) print_line(status_line(last_running_));
}

void SweepProgress::note(const std::string& text) {
  if (enabled_) print_line(text);
}

bool SweepProgress::wants_tick() const {
  if (!enabled_) return false;
  const auto now = Clock::now();
  return tty_ ? now - last_draw_ >= std::chrono::milliseconds(900) : now - last_heartbeat_ > std::chrono::seconds(60);
}

void SweepProgress::tick(const std::vector<RunningRun>& running) {
  last_running_ = running;
  if (!enabled_) return;
  const auto now = Clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(900)) return;
    last_draw_ = now;
    std::string line = status_line(running);
    for (std::size_t i = 0; i < running.size() && i < 2; ++i) {
      const RunningRun& r = running[i];
      line += " | " + r.name + " ";
      if (r.step >= 0) line += "step " + std::to_string(r.step) + "/" + std::to_string(r.total) + " ";
      line += duration_text(r.seconds);
    }
    if (running.size() > 2) line += " | +" + std::to_string(running.size() - 2);
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    std::fflush(out_);
    live_ = true;
  } else if (now - last_heartbeat_ > std::chrono::seconds(60)) {
    last_heartbeat_ = now;
    print_line(status_line(running));
  }
}

void SweepProgress::finish() {
  if (!enabled_) return;
  clear_live();
  std::fflush(out_);
}

}  // namespace flowbp
