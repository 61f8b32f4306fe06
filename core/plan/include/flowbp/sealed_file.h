// Files the trainer must never half-trust (the backbone cache, checkpoints): a
// header naming what the payload is, its size and an FNV-1a checksum, written to
// a temporary file and renamed into place so readers see the old or the new file.
#pragma once
#include <cstdint>
#include <string>

namespace flowbp {

std::uint64_t fnv1a64(const std::string& bytes);

// Throws std::runtime_error naming the path when writing fails (e.g. a full disk).
void write_sealed_file(const std::string& path, const std::string& tag, const std::string& payload);

// The payload, or false with `why` set ("missing", "truncated", "checksum mismatch", …).
bool read_sealed_file(const std::string& path, const std::string& tag, std::string& payload, std::string& why);

}  // namespace flowbp
