#include "flowbp/run_directory.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "flowbp/files.h"

namespace flowbp {

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

void RunDirLock::take(const std::string& dir) {
  const std::string path = dir + "/run.lock";
  const int fd = try_lock_file(path);
  if (fd < 0) {
    const std::string holder = read_file_or_empty(path);
    throw std::runtime_error(dir + " is being trained by another process" +
                             (holder.empty() ? std::string() : " (pid " + holder + ")") +
                             "; wait for it to finish, or use another --name");
  }
  // Who holds it, for the message another process would print.
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only the message would lack the pid; the lock itself holds.
  }
  fd_ = fd;
}

std::string set_aside_unreadable_log(const std::string& dir) {
  std::string aside;
  for (int n = 1;; ++n) {
    aside = dir + "/unreadable-" + std::to_string(n);
    if (!file_exists(aside)) break;
  }
  make_dirs(aside);
  for (const char* name : {"log.h5", "checkpoint.bin"}) {
    const std::string from = dir + "/" + name;
    if (file_exists(from) && std::rename(from.c_str(), (aside + "/" + name).c_str()) != 0)
      throw std::runtime_error(from + ": cannot move it aside to " + aside + ": " + std::strerror(errno));
  }
  return aside;
}

}  // namespace flowbp
