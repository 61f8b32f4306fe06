#include "fixture_logs.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace flowbp::analysis::test {

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
std::string work_root() {
  return env_or("FLOWBP_ANALYSIS_WORK", (std::filesystem::temp_directory_path() / "flowbp-analysis-tests").string());
}
}  // namespace

std::string python() { return env_or("FLOWBP_PYTHON", "/usr/bin/python3"); }
std::string tests_source_dir() { return env_or("FLOWBP_ANALYSIS_TESTS", "tests/analysis"); }

int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = work_root() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

const std::string& fixture_logs() {
  static const std::string dir = [] {
    const std::string d = fresh_dir("logs");
    const std::string cmd = python() + " " + tests_source_dir() + "/make_logs.py " + d;
    if (run_shell(cmd) != 0) throw std::runtime_error("fixture generation failed: " + cmd);
    return d;
  }();
  return dir;
}

}  // namespace flowbp::analysis::test
