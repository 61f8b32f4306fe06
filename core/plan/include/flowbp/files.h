// File-system helpers every layer shares: one spelling of "create the folders",
// "read it whole" and "replace it atomically" (temp file + rename, so a reader or a
// later --resume sees the old file or the new one, never half of one).
#pragma once
#include <string>

namespace flowbp {

bool file_exists(const std::string& path);  // anything at the path, a folder included
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);

// mkdir -p; throws std::runtime_error naming the folder that could not be made and why.
void make_dirs(const std::string& dir);

// The whole file; throws std::runtime_error naming the path when it cannot be read.
std::string read_file(const std::string& path);
// The whole file, or "" when it is missing or unreadable (for "is it what I wrote?" checks).
std::string read_file_or_empty(const std::string& path);

// Writes `text` to a temporary file beside `path` (unique per process), flushes it and
// renames it into place; throws std::runtime_error naming the path (e.g. a full disk)
// and leaves no temporary file behind.
void write_file_atomically(const std::string& path, const std::string& text);

// An exclusive, non-blocking lock on `path` (created when missing): the open descriptor,
// or -1 when another process holds it. The lock lasts while the descriptor is open, in
// this process or a child that inherited it; the kernel drops it when a killed holder
// dies. Throws std::runtime_error naming the path when the file cannot be created.
int try_lock_file(const std::string& path);

}  // namespace flowbp
