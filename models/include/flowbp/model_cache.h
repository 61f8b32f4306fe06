// Pre-trained files (the image backbone, the reward classifier, the held-out
// evaluator): looked up in the cache folder, then among the files shipped with flowbp
// (pretrained/ in the source tree, share/flowbp/pretrained once installed). Either is
// a sealed file whose tag names its cache key, so a file is trusted only when its
// checksum holds and it was made from exactly these settings and data. A missing file
// is built under a lock, so the parallel runs of a sweep build it once.
#pragma once
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace flowbp {

// The folder of shipped pre-trained files: $FLOWBP_PRETRAINED_DIR when it is set (set
// and empty: none), else the source tree's pretrained/ when this build can see it, else
// the installed copy. "" when there is none.
std::string shipped_models_dir();

struct CachedModel {
  std::string path;      // the file the payload came from
  std::string payload;
  bool shipped = false;  // from shipped_models_dir(), not from the cache
  std::string rejected;  // why a file that was there was not trusted ("<path>: checksum mismatch"); "" if none
};

// <cache_dir>/<name>, else <shipped dir>/<name>, each read with read_sealed_file(…, tag).
// False when neither holds a trusted file (out.rejected then says what was wrong with
// the ones that were there).
bool read_cached_model(const std::string& cache_dir, const std::string& name, const std::string& tag,
                       CachedModel& out);

// An exclusive lock on <path>.lock held while <path> is built. Blocks while another
// process builds it, saying so once on `out` (nullptr: silently). The kernel drops the
// lock when a killed holder dies, so a crash never leaves the cache locked.
class CacheBuildLock {
 public:
  explicit CacheBuildLock(const std::string& path, std::FILE* out = stderr);
  ~CacheBuildLock();
  CacheBuildLock(const CacheBuildLock&) = delete;
  CacheBuildLock& operator=(const CacheBuildLock&) = delete;

 private:
  int fd_ = -1;
};

// Where load_or_build_model's model came from.
struct ModelSource {
  std::string path;         // the file read, or the cache file built
  bool from_cache = false;  // read (cache or shipped copy), not built
  bool shipped = false;     // read from shipped_models_dir()
  std::string rejected;     // files that were there and not trusted, and why ("" if none)
};

// The whole lookup of a pre-trained model: the cache, then the shipped copy, each payload
// handed to `load` (which throws when it cannot use it: that file is then rejected as
// unreadable); failing both, under the build lock, the cache once more (another process
// may have built it while this one waited), and failing that `build`, whose payload is
// sealed into the cache (std::nullopt: the build stopped early, nothing is written).
ModelSource load_or_build_model(const std::string& cache_dir, const std::string& name, const std::string& tag,
                                const std::function<void(const std::string& payload)>& load,
                                const std::function<std::optional<std::string>()>& build, std::FILE* lock_out);

}  // namespace flowbp
