// Child processes for the sweep runner: each run is its own process group, dies
// with the runner (PR_SET_PDEATHSIG), and writes stdout+stderr to a file.
#pragma once
#include <csignal>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace flowbp {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program path
  std::vector<std::pair<std::string, std::string>> env;  // set (overriding) in the child
  std::string output_path;        // stdout and stderr appended here
  int inherit_fd = -1;            // kept open across exec (a lock the child holds while it runs)
};

// Forks and execs; returns the child's pid. Throws std::runtime_error if fork fails.
// A failing exec shows as exit code 127 with the reason in the output file.
pid_t spawn_child(const ChildSpec& spec);

// "exit code 3", "killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

// Blocks the signals the runner waits for (SIGINT, SIGTERM, SIGHUP, SIGCHLD) in this
// thread and in threads started after it, so they are taken only by wait_signal.
// Children get an empty mask and default handlers back before exec.
class SignalWaiter {
 public:
  SignalWaiter();
  ~SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;
  // Waits up to timeout_ms for one of those signals; returns it, or 0 on timeout.
  int wait_signal(int timeout_ms);

 private:
  sigset_t set_{}, old_{};
};

// The last non-empty line of a text file (at most max_bytes read from its end), "" if none.
std::string last_line_of(const std::string& path, std::size_t max_bytes = 4096);

}  // namespace flowbp
