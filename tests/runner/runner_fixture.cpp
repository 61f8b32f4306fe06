#include "runner_fixture.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace runner_test {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env,
            const std::string& output_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    const int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

std::string scratch_dir(const std::string& label) {
  const fs::path root = env_or("FLOWBP_TEST_TMP", fs::temp_directory_path().string() + "/flowbp-runner-tests");
  const fs::path dir = root / label;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tiny_base_toml(const std::string& extra) {
  return R"([backbone]
hidden = 32
layers = 2
time_embed = 8
pretrain_steps = 200
pretrain_batch = 128

[sampling]
steps = 6

[train]
steps = 8
batch = 16
eval_every = 0
checkpoint_every = 2

[eval]
steps = 8
samples_per_condition = 16

[method]
name = "refl"
)" + extra;
}

std::string flowbp_exe() {
  const char* exe = std::getenv("FLOWBP_EXE");
  if (!exe) throw std::runtime_error("FLOWBP_EXE is not set (run the tests through meson test)");
  return exe;
}

int wait_for(pid_t pid, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw std::runtime_error("process timed out after " + std::to_string(timeout_s) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result run(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env,
           int timeout_s) {
  char tmpl[] = "/tmp/flowbp-runner-out-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  Result result;
  result.exit_code = wait_for(spawn(argv, env, tmpl), timeout_s);
  result.output = read_text(tmpl);
  ::unlink(tmpl);
  return result;
}

Result run_flowbp(const std::vector<std::string>& args, int timeout_s) {
  std::vector<std::string> argv = {flowbp_exe()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {}, timeout_s);
}

pid_t start_flowbp(const std::vector<std::string>& args, const std::string& output_path) {
  std::vector<std::string> argv = {flowbp_exe()};
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn(argv, {}, output_path);
}

bool lock_is_free(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return true;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

}  // namespace runner_test
