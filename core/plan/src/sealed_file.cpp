#include "flowbp/sealed_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace flowbp {

namespace {

constexpr const char* kMagic = "FLOWBP-SEALED 1";

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what + (errno ? std::string(": ") + std::strerror(errno) : ""));
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, "cannot write");
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void write_sealed_file(const std::string& path, const std::string& tag, const std::string& payload) {
  std::ostringstream header;
  header << kMagic << '\n' << tag << '\n' << payload.size() << ' ' << fnv1a64(payload) << '\n';
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  errno = 0;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, "cannot create");
  try {
    write_all(fd, header.str(), tmp);
    write_all(fd, payload, tmp);
    // Durable before the rename, or a crash could leave the new name on empty data.
    if (::fsync(fd) != 0) fail(tmp, "cannot sync");
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(tmp, "cannot close");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail(path, "cannot rename the temporary file into place");
  }
}

bool read_sealed_file(const std::string& path, const std::string& tag, std::string& payload, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "missing";
    return false;
  }
  std::string magic, file_tag, sizes;
  if (!std::getline(in, magic) || magic != kMagic) {
    why = "not a flowbp sealed file (bad magic)";
    return false;
  }
  if (!std::getline(in, file_tag) || file_tag != tag) {
    why = "written for '" + file_tag + "', expected '" + tag + "'";
    return false;
  }
  std::uint64_t size = 0, sum = 0;
  if (!std::getline(in, sizes) || !(std::istringstream(sizes) >> size >> sum)) {
    why = "header damaged";
    return false;
  }
  payload.assign(size, '\0');
  in.read(payload.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uint64_t>(in.gcount()) != size) {
    why = "truncated";
    return false;
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    why = "trailing bytes after the payload";
    return false;
  }
  if (fnv1a64(payload) != sum) {
    why = "checksum mismatch";
    return false;
  }
  return true;
}

}  // namespace flowbp
