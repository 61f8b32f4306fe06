// Shared helpers of the runner tests: scratch directories, a tiny real base
// experiment, and running the real `flowbp` executable as a child process.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace runner_test {

// A fresh, empty directory under $FLOWBP_TEST_TMP (the test's build folder).
std::string scratch_dir(const std::string& label);
void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

// A small, fast experiment on the toy backbone (seconds per run). extra is appended.
std::string tiny_base_toml(const std::string& extra = "");

// The built flowbp executable ($FLOWBP_EXE).
std::string flowbp_exe();

struct Result {
  int exit_code = -1;   // 128+signal when killed
  std::string output;   // stdout and stderr together
};
// Runs a command to completion (timeout_s, then SIGKILL and a failed CHECK).
Result run(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env = {},
           int timeout_s = 240);
Result run_flowbp(const std::vector<std::string>& args, int timeout_s = 240);

// Starts flowbp in the background; output goes to output_path.
pid_t start_flowbp(const std::vector<std::string>& args, const std::string& output_path);
// Waits for a started process; returns its exit code (128+signal when killed).
int wait_for(pid_t pid, int timeout_s = 240);

// True when no process holds the run lock at path (flock is free).
bool lock_is_free(const std::string& path);

}  // namespace runner_test
