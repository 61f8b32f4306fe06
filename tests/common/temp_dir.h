// A fresh directory for a test's files.
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace flowbp::testing {

// A fresh directory under $TMPDIR (or /tmp), removed by the caller if it wants.
inline std::string temp_dir(const std::string& stem) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/flowbp-" + stem + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

}  // namespace flowbp::testing
