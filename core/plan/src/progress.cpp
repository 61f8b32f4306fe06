#include "flowbp/progress.h"

#include <unistd.h>

#include <cmath>

namespace flowbp {

std::string format_duration(double seconds) {
  char buf[32];
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return buf;
}

Progress::Progress(std::string label, std::int64_t total_steps, std::int64_t first_step, bool enabled,
                   std::FILE* out)
    : label_(std::move(label)),
      total_(total_steps),
      first_(first_step),
      enabled_(enabled),
      tty_(::isatty(::fileno(out)) != 0),
      out_(out),
      start_(Clock::now()),
      last_draw_(start_) {}

std::string Progress::line(std::int64_t step, double loss, double reward) const {
  const double elapsed = since(start_);
  const std::int64_t done_here = step - first_;
  const double per_step = done_here > 0 ? elapsed / static_cast<double>(done_here) : 0.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: step %lld/%lld (%3.0f%%)  loss %.4f  reward %.4f  %.1f it/s  ETA %s",
                label_.c_str(), static_cast<long long>(step), static_cast<long long>(total_),
                100.0 * static_cast<double>(step) / static_cast<double>(total_), loss, reward,
                per_step > 0 ? 1.0 / per_step : 0.0,
                format_duration(per_step * static_cast<double>(total_ - step)).c_str());
  return buf;
}

void Progress::update(std::int64_t step, double loss, double reward) {
  if (!enabled_) return;
  if (tty_) {
    const auto now = Clock::now();
    if (step != total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r%s\033[K", line(step, loss, reward).c_str());
    drawn_ = true;
  } else {
    const int decile = static_cast<int>(10 * step / total_);
    if (decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(out_, "%s\n", line(step, loss, reward).c_str());
  }
  std::fflush(out_);
}

void Progress::note(const std::string& text) {
  if (!enabled_) return;
  if (tty_ && drawn_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
  drawn_ = false;
}

void Progress::finish() {
  if (enabled_ && tty_ && drawn_) std::fprintf(out_, "\n");
  drawn_ = false;
}

}  // namespace flowbp
