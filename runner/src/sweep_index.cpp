#include "flowbp/sweep_index.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace flowbp {
namespace fs = std::filesystem;

namespace {

const char* const kHeader = "id\tname\tstate\texit_code\tattempts\tstarted_utc\tended_utc\treason";

// Reasons come from logs and stderr: keep each row one line of fixed columns.
std::string clean(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) out.push_back(field);
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  return out;
}

int state_rank(const std::string& state) {
  if (state == "done") return 4;
  if (state == "failed") return 3;
  if (state == "running") return 2;
  if (state == "interrupted") return 1;
  return 0;
}

std::string last_update(const IndexEntry& e) { return std::max(e.started_utc, e.ended_utc); }

}  // namespace

std::string index_file_name(int shard_index, int shard_count) {
  if (shard_count <= 1) return "sweep_index.tsv";
  return "sweep_index.shard-" + std::to_string(shard_index) + "-of-" + std::to_string(shard_count) + ".tsv";
}

void write_index(const std::string& path, const std::vector<IndexEntry>& entries) {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& e : entries)
    text += e.id + "\t" + clean(e.name) + "\t" + e.state + "\t" + std::to_string(e.exit_code) + "\t" +
            std::to_string(e.attempts) + "\t" + e.started_utc + "\t" + e.ended_utc + "\t" + clean(e.reason) + "\n";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(tmp + ": cannot write the sweep index: " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(tmp + ": cannot write the sweep index: " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  // fsync so that after a crash the rename never exposes an empty file.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(tmp + ": cannot write the sweep index: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot replace the sweep index: " + std::strerror(err));
  }
}

std::vector<IndexEntry> read_index(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the sweep index");
  std::string line;
  if (!std::getline(in, line) || line != kHeader)
    throw std::runtime_error(path + ":1: not a flowbp sweep index (unexpected header)");
  std::vector<IndexEntry> out;
  for (int lineno = 2; std::getline(in, line); ++lineno) {
    if (line.empty()) continue;
    const auto f = split_tabs(line);
    if (f.size() != 8)
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": expected 8 tab-separated fields, got " +
                               std::to_string(f.size()));
    IndexEntry e;
    e.id = f[0];
    e.name = f[1];
    e.state = f[2];
    try {
      e.exit_code = std::stoi(f[3]);
      e.attempts = std::stoi(f[4]);
    } catch (const std::exception&) {
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": exit_code and attempts must be integers");
    }
    e.started_utc = f[5];
    e.ended_utc = f[6];
    e.reason = f[7];
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<IndexEntry> read_merged_index(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("sweep_index", 0) == 0 && entry.path().extension() == ".tsv") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, IndexEntry> by_id;
  std::vector<std::string> order;
  for (const auto& file : files) {
    for (auto& e : read_index(file)) {
      auto it = by_id.find(e.id);
      if (it == by_id.end()) {
        order.push_back(e.id);
        by_id.emplace(e.id, std::move(e));
        continue;
      }
      const IndexEntry& old = it->second;
      const bool newer = last_update(e) > last_update(old) ||
                         (last_update(e) == last_update(old) && state_rank(e.state) > state_rank(old.state));
      if (newer) it->second = std::move(e);
    }
  }
  std::vector<IndexEntry> out;
  for (const auto& id : order) out.push_back(by_id.at(id));
  return out;
}

}  // namespace flowbp
