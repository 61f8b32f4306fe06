// Finds the run logs named on the command line: files as given, directories
// searched recursively for *.h5 (a run's log.h5 among them).
#pragma once
#include <string>
#include <vector>

namespace flowbp::analysis {

// Sorted and unique. Throws std::runtime_error naming an input that does not exist.
// Files under `skip_dir` (the report's own output) are not collected.
std::vector<std::string> find_run_logs(const std::vector<std::string>& inputs, const std::string& skip_dir = "");

}  // namespace flowbp::analysis
