#include "flowbp/sweep_listing.h"

#include <algorithm>
#include <map>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "flowbp/child_process.h"

#include "flowbp/sweep_exec.h"
#include "flowbp/sweep_index.h"
#include "sweep_progress.h"

namespace flowbp {

namespace {

bool lock_is_free(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return true;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);  // closing drops the lock we may just have taken
  return free;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string varying_text(const SweepRun& r) {
  std::string out;
  for (const auto& [k, v] : r.varying) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out;
}

}  // namespace

void print_run_list(const SweepSpec& spec, const std::vector<SweepRun>& all_runs,
                    const std::vector<SweepRun>& my_runs, const Shard& shard, const std::string& out_dir,
                    std::ostream& out) {
  out << "sweep " << spec.name << " (" << spec.path << "): " << all_runs.size() << " runs from "
      << spec.base_path << ", every one validated\n";
  if (!spec.description.empty()) out << "  " << spec.description << "\n";
  if (shard.count > 1)
    out << "shard " << shard.index << "/" << shard.count << ": " << my_runs.size() << " of these runs\n";
  out << "output: " << out_dir << "\n\n";
  std::size_t name_width = 4;
  for (const auto& r : my_runs) name_width = std::max(name_width, r.name.size());
  out << pad("id", 14) << pad("state", 9) << pad("name", name_width + 2) << "varying\n";
  for (const auto& r : my_runs) {
    const RunInspection insp = inspect_run(out_dir, r);
    out << pad(r.id, 14) << pad(insp.state, 9) << pad(r.name, name_width + 2) << varying_text(r) << "\n";
  }
}

int print_status(const std::vector<SweepRun>& all_runs, const std::string& out_dir, std::ostream& out) {
  std::map<std::string, IndexEntry> index;
  for (auto& e : read_merged_index(out_dir)) index[e.id] = e;
  std::map<std::string, int> counts;
  std::size_t name_width = 4;
  for (const auto& r : all_runs) name_width = std::max(name_width, r.name.size());
  out << pad("state", 12) << pad("name", name_width + 2) << pad("exit", 6) << pad("ended", 22) << "reason\n";
  for (const auto& r : all_runs) {
    // The run's own log is the truth; the index adds exit codes, times and crash reasons.
    RunInspection insp = inspect_run(out_dir, r);
    IndexEntry e;
    if (auto it = index.find(r.id); it != index.end()) e = it->second;
    std::string state = insp.state == "done" || insp.state == "failed" ? insp.state
                        : e.state.empty() || e.state == "pending"   ? (insp.state == "new" ? "pending" : "partial")
                                                                    : e.state;
    std::string reason = insp.state == "failed" ? insp.reason : e.reason;
    if (insp.state == "partial" && !lock_is_free(out_dir + "/locks/" + r.name + ".lock")) {
      // Being written by a live process: its log is locked, its output says how far it is.
      state = "running";
      const auto [step, total] = parse_step_progress(last_line_of(out_dir + "/logs/" + r.name + ".log"));
      reason = step >= 0 ? "step " + std::to_string(step) + "/" + std::to_string(total) : "";
      insp.steps_total = 0;
    }
    if ((state == "partial" || state == "interrupted") && insp.steps_total > 0)
      reason = "step " + std::to_string(insp.steps_done) + "/" + std::to_string(insp.steps_total) +
               (reason.empty() ? "" : "; " + reason);
    ++counts[state];
    out << pad(state, 12) << pad(r.name, name_width + 2)
        << pad(e.exit_code >= 0 ? std::to_string(e.exit_code) : "-", 6) << pad(e.ended_utc.empty() ? "-" : e.ended_utc, 22)
        << reason << "\n";
  }
  out << "\n" << all_runs.size() << " runs:";
  for (const auto& [state, n] : counts) out << " " << n << " " << state;
  out << "\n";
  if (counts["done"] == static_cast<int>(all_runs.size())) return 0;
  return counts["failed"] > 0 ? 3 : 1;
}

}  // namespace flowbp
