// The sweep index: one TSV row per run with its state, rewritten atomically
// (temp file + rename) at every change so a killed sweep leaves a whole file.
// Shards of one sweep write one index each into the same directory; readers merge.
#pragma once
#include <string>
#include <vector>

namespace flowbp {

struct IndexEntry {
  std::string id, name;
  std::string state = "pending";  // pending, running, done, failed, interrupted
  int exit_code = -1;             // of the last attempt; -1 when none finished
  int attempts = 0;               // child processes started for this run by this index's writer
  std::string started_utc, ended_utc;  // ISO-8601, "" when not yet
  std::string reason;             // why it failed or was interrupted
};

// "sweep_index.tsv", or "sweep_index.shard-<i>-of-<n>.tsv" for --shard i/n.
std::string index_file_name(int shard_index, int shard_count);

void write_index(const std::string& path, const std::vector<IndexEntry>& entries);
// Throws std::runtime_error naming the file and line for a malformed file.
std::vector<IndexEntry> read_index(const std::string& path);
// Every sweep_index*.tsv in dir merged by run id: the most recently updated entry wins.
std::vector<IndexEntry> read_merged_index(const std::string& dir);

}  // namespace flowbp
