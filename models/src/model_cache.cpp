#include "flowbp/model_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "flowbp/files.h"
#include "flowbp/sealed_file.h"

namespace flowbp {

std::string shipped_models_dir() {
  if (const char* env = std::getenv("FLOWBP_PRETRAINED_DIR")) return env;
  // A build tree sees the source tree's copy; an installed flowbp its share/ folder.
  for (const char* dir : {FLOWBP_SOURCE_PRETRAINED_DIR, FLOWBP_INSTALLED_PRETRAINED_DIR})
    if (is_directory(dir)) return dir;
  return "";
}

bool read_cached_model(const std::string& cache_dir, const std::string& name, const std::string& tag,
                       CachedModel& out) {
  out = CachedModel{};
  const std::string shipped = shipped_models_dir();
  std::string places[2] = {cache_dir + "/" + name, shipped.empty() ? "" : shipped + "/" + name};
  for (int i = 0; i < 2; ++i) {
    if (places[i].empty()) continue;
    std::string why;
    if (read_sealed_file(places[i], tag, out.payload, why)) {
      out.path = places[i];
      out.shipped = i == 1;
      return true;
    }
    if (why != "missing") out.rejected += (out.rejected.empty() ? "" : "; ") + places[i] + ": " + why;
  }
  return false;
}

CacheBuildLock::CacheBuildLock(const std::string& path, std::FILE* out) {
  const std::string lock = path + ".lock";
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(lock + ": cannot create the lock file: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  if (out) std::fprintf(out, "waiting for another process that is building %s\n", path.c_str());
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd_);
    throw std::runtime_error(lock + ": cannot lock: " + std::strerror(err));
  }
}

CacheBuildLock::~CacheBuildLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

ModelSource load_or_build_model(const std::string& cache_dir, const std::string& name, const std::string& tag,
                                const std::function<void(const std::string& payload)>& load,
                                const std::function<std::optional<std::string>()>& build, std::FILE* lock_out) {
  ModelSource source;
  const auto take = [&](const std::string& payload, const std::string& from) {
    try {
      load(payload);
    } catch (const std::exception& e) {
      source.rejected += (source.rejected.empty() ? "" : "; ") + from + ": unreadable model: " + e.what();
      return false;
    }
    source.path = from;
    return source.from_cache = true;
  };
  CachedModel found;
  if (read_cached_model(cache_dir, name, tag, found)) source.shipped = take(found.payload, found.path) && found.shipped;
  if (!found.rejected.empty())
    source.rejected = found.rejected + (source.rejected.empty() ? "" : "; " + source.rejected);
  if (source.from_cache) return source;

  const std::string path = cache_dir + "/" + name;
  make_dirs(cache_dir);
  // Parallel runs of a sweep wait here for the one that builds, then read its file.
  const CacheBuildLock lock(path, lock_out);
  std::string payload, why;
  if (read_sealed_file(path, tag, payload, why) && take(payload, path)) return source;
  source.path = path;
  if (const std::optional<std::string> built = build()) write_sealed_file(path, tag, *built);
  return source;
}

}  // namespace flowbp
