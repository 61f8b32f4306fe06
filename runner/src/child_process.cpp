#include "flowbp/child_process.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace flowbp {

namespace {

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void child_fail(const char* what) {
  const char* err = std::strerror(errno);
  (void)!::write(2, "flowbp sweep: cannot start the run: ", 36);
  (void)!::write(2, what, std::strlen(what));
  (void)!::write(2, ": ", 2);
  (void)!::write(2, err, std::strlen(err));
  (void)!::write(2, "\n", 1);
  ::_exit(127);
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGHUP: return "SIGHUP";
    default: return nullptr;
  }
}

}  // namespace

pid_t spawn_child(const ChildSpec& spec) {
  if (spec.argv.empty()) throw std::runtime_error("spawn_child: empty argv");
  // Everything the child needs is prepared before fork: allocation after fork is unsafe
  // in a process that may have threads.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : spec.env) replaced = replaced || k == key;
    if (!replaced) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("cannot fork a run: ") + std::strerror(errno));
  if (pid > 0) return pid;

  // Child. Own process group: a terminal's Ctrl-C reaches the runner, which stops
  // the runs itself; and the runner can signal a run's whole group.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(128 + SIGKILL);  // the runner died before prctl
  sigset_t empty;
  sigemptyset(&empty);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) ::signal(sig, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  const int out = ::open(spec.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) child_fail(spec.output_path.c_str());
  const int in = ::open("/dev/null", O_RDONLY);
  if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) child_fail("redirecting output");
  if (spec.inherit_fd >= 0) {
    const int flags = ::fcntl(spec.inherit_fd, F_GETFD);
    if (flags >= 0) ::fcntl(spec.inherit_fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  ::execve(argv[0], argv.data(), envp.data());
  child_fail(argv[0]);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = signal_name(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : std::string());
  }
  return "unknown wait status " + std::to_string(status);
}

SignalWaiter::SignalWaiter() {
  sigemptyset(&set_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set_, sig);
  if (::pthread_sigmask(SIG_BLOCK, &set_, &old_) != 0) throw std::runtime_error("cannot block signals");
}

SignalWaiter::~SignalWaiter() {
  // Drop what is pending (a SIGCHLD, a Ctrl-C already handled) before unblocking.
  timespec zero{0, 0};
  while (::sigtimedwait(&set_, nullptr, &zero) > 0) {
  }
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

int SignalWaiter::wait_signal(int timeout_ms) {
  timespec ts{timeout_ms / 1000, static_cast<long>(timeout_ms % 1000) * 1000000L};
  const int sig = ::sigtimedwait(&set_, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

std::string last_line_of(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(max_bytes) ? size - static_cast<std::streamoff>(max_bytes) : 0;
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  // \r-updated progress lines count as lines too.
  for (char& c : text)
    if (c == '\r') c = '\n';
  std::size_t end = text.find_last_not_of(" \n\t");
  if (end == std::string::npos) return "";
  const std::size_t begin = text.rfind('\n', end);
  return text.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
}

}  // namespace flowbp
