#include "gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

extern char** environ;

namespace flowbp::analysis {

std::string gnuplot_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c == '\n' ? ' ' : c);
  return out + "'";
}

std::string gnuplot_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : ".\"\\n\".") + gnuplot_quote(line);
  return out.empty() ? "''" : out;
}

std::string gnuplot_preamble(const std::string& png_path, int width, int height) {
  return "set terminal pngcairo size " + std::to_string(width) + "," + std::to_string(height) +
         " noenhanced font 'Sans,10'\nset output " + gnuplot_quote(png_path) +
         "\nset grid lc rgb '#dddddd'\nset key outside right top\nset datafile missing 'NaN'\n";
}

std::string run_gnuplot(const std::string& script, const std::string& script_path, const std::string& png_path) {
  {
    std::ofstream out(script_path);
    out << script;
    if (!out) return "cannot write " + script_path;
  }
  std::remove(png_path.c_str());
  const char* env = std::getenv("FLOWBP_GNUPLOT");
  const std::string program = env && *env ? env : "gnuplot";
  const std::string log_path = script_path + ".log";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string arg0 = program, arg1 = script_path;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return "cannot run '" + program + "' (" + std::strerror(rc) +
           "); install gnuplot-nox, set FLOWBP_GNUPLOT, or pass --no-figures";
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string first_error;
  {
    std::ifstream log(log_path);
    for (std::string line; std::getline(log, line);)
      if (!line.empty() && first_error.empty() && line.find_first_not_of(" ^") != std::string::npos &&
          line.find("warning") == std::string::npos)
        first_error = line;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return program + " failed on " + script_path + (first_error.empty() ? "" : ": " + first_error) + " (see " +
           log_path + ")";
  struct stat st {};
  if (stat(png_path.c_str(), &st) != 0 || st.st_size == 0) return program + " wrote no image to " + png_path;
  return "";
}

}  // namespace flowbp::analysis
