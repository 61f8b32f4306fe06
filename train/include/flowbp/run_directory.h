// A run directory's guards: one process at a time trains it, and files a failed start
// left unreadable are kept aside rather than trusted or deleted.
#pragma once
#include <string>

namespace flowbp {

// An exclusive lock on <dir>/run.lock, held until destroyed (or the process ends: the
// kernel drops it when a killed trainer dies, so --resume never waits on a dead one).
class RunDirLock {
 public:
  RunDirLock() = default;
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;
  // Throws std::runtime_error naming the directory (and the holder's pid when known)
  // when another process holds it.
  void take(const std::string& dir);
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Moves <dir>/log.h5 and <dir>/checkpoint.bin (which belongs to that log) to
// <dir>/unreadable-<n>/ and returns that folder.
std::string set_aside_unreadable_log(const std::string& dir);

}  // namespace flowbp
