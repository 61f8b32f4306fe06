#include "log_scan.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace flowbp::analysis {

namespace {
bool inside(const fs::path& path, const fs::path& dir) {
  if (dir.empty()) return false;
  const auto rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}
}  // namespace

std::vector<std::string> find_run_logs(const std::vector<std::string>& inputs, const std::string& skip_dir) {
  std::vector<std::string> found;
  std::error_code ec;
  const fs::path skip = skip_dir.empty() ? fs::path() : fs::weakly_canonical(skip_dir, ec);
  for (const auto& input : inputs) {
    const fs::path p(input);
    if (fs::is_regular_file(p, ec)) {
      found.push_back(p.lexically_normal().string());
      continue;
    }
    if (!fs::is_directory(p, ec)) throw std::runtime_error(input + ": no such file or directory");
    for (fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
         it != end; it.increment(ec)) {
      if (ec) break;
      // Earlier attempts of a rerun (`flowbp sweep --retry-failed`) are history, not results.
      if (it->is_directory(ec) && it->path().filename() == "failed_attempts") {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec) || it->path().extension() != ".h5") continue;
      if (inside(fs::weakly_canonical(it->path(), ec), skip)) continue;
      found.push_back(it->path().lexically_normal().string());
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

}  // namespace flowbp::analysis
