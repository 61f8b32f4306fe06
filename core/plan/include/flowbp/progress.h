// The progress line on stderr while training: rewritten in place (\r) on a
// terminal, one plain line per ~10% otherwise (logs of batch jobs stay short).
#pragma once
#include "flowbp/clock.h"
#include <cstdint>
#include <cstdio>
#include <string>

namespace flowbp {

class Progress {
 public:
  Progress(std::string label, std::int64_t total_steps, std::int64_t first_step, bool enabled,
           std::FILE* out = stderr);
  void update(std::int64_t step, double loss, double reward);
  void note(const std::string& line);  // a message that must not be overwritten
  void finish();

 private:
  std::string line(std::int64_t step, double loss, double reward) const;
  std::string label_;
  std::int64_t total_, first_;
  bool enabled_, tty_;
  std::FILE* out_;
  Clock::time_point start_, last_draw_;
  int last_decile_ = -1;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "42s", "3m05s", "1h02m"

}  // namespace flowbp
