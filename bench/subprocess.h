// Runs a program (no shell) and captures its standard output; stderr passes through.
#pragma once
#include <string>
#include <vector>

namespace flowbp::bench {

struct Captured {
  int exit_status = -1;  // the exit code, or 128 + signal
  std::string out;
};

Captured run_capture(const std::vector<std::string>& argv);

}  // namespace flowbp::bench
