#include "report.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "csv_writer.h"
#include "figures.h"
#include "flowbp/did_you_mean.h"
#include "log_scan.h"
#include "run_log_reader.h"

namespace fs = std::filesystem;

namespace flowbp::analysis {

std::string default_out_dir(const std::vector<std::string>& inputs) {
  if (inputs.empty()) return "report";
  std::error_code ec;
  const fs::path first(inputs.front());
  const fs::path dir = fs::is_directory(first, ec) ? first : first.parent_path();
  return ((dir.empty() ? fs::path(".") : dir) / "report").lexically_normal().string();
}

namespace {

std::vector<std::string> all_config_keys(const std::vector<const RunRecord*>& runs) {
  std::vector<std::string> keys;
  for (const RunRecord* r : runs)
    for (const auto& [k, v] : r->config) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

void check_options(const ReportOptions& o, const Report& report, const std::vector<const RunRecord*>& done) {
  if (done.empty()) return;  // nothing to check against; the status table says why
  std::vector<std::string> metrics;
  for (const auto& m : report.table.metrics) metrics.push_back(m.name);
  if (o.metric && std::find(metrics.begin(), metrics.end(), *o.metric) == metrics.end()) {
    std::string list;
    for (const auto& m : metrics) list += (list.empty() ? "" : ", ") + m;
    throw std::runtime_error("--metric " + *o.metric + ": no such /eval metric in these runs" +
                             did_you_mean(*o.metric, metrics) + " (metrics: " + list + ")");
  }
  if (o.by) {
    const auto keys = all_config_keys(done);
    if (std::find(keys.begin(), keys.end(), *o.by) == keys.end())
      throw std::runtime_error("--by " + *o.by + ": no /config key of that name in these runs" + did_you_mean(*o.by, keys));
    if (is_ignored_key(*o.by, o.ignored_keys))
      throw std::runtime_error("--by " + *o.by + ": that key is excluded from swept settings (seed, method name, paths)");
  }
}

// A table or figure left from an earlier report into the same --out would read as
// part of this one; only files of the kinds the report writes are removed.
void remove_previous_output(const std::string& out_dir) {
  std::error_code ec;
  for (const char* name : {"main.csv", "ablation.csv", "status.csv"}) fs::remove(fs::path(out_dir) / "tables" / name, ec);
  for (const auto& dir : {fs::path(out_dir) / "figures", fs::path(out_dir) / "figures" / "data"}) {
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file(ec) && (ext == ".png" || ext == ".dat" || ext == ".gp" || ext == ".log"))
        stale.push_back(entry.path());
    }
    for (const auto& p : stale) fs::remove(p, ec);
  }
}

}  // namespace

Report make_report(const ReportOptions& o) {
  if (o.inputs.empty()) throw std::runtime_error("no input: give run directories or log files");
  Report report;
  report.out_dir = o.out_dir.empty() ? default_out_dir(o.inputs) : o.out_dir;
  for (const auto& path : find_run_logs(o.inputs, report.out_dir)) report.runs.push_back(read_run_log(path));
  if (report.runs.empty()) throw std::runtime_error("no run logs (*.h5) found under the given inputs");

  std::vector<const RunRecord*> done;
  for (const auto& r : report.runs)
    if (r.state == RunState::Done) done.push_back(&r);
  report.table = build_main_table(group_runs(done, o.ignored_keys), report.notes);
  check_options(o, report, done);
  if (o.by && report.table.rows.size()) {
    bool varies = std::any_of(report.table.rows.begin(), report.table.rows.end(), [&](const Group& g) {
      return std::any_of(g.setting.begin(), g.setting.end(), [&](const auto& kv) { return kv.first == *o.by; });
    });
    if (!varies) report.notes.push_back("--by " + *o.by + ": the key does not vary within any method; no ablation table");
  }
  report.ablations = build_ablations(report.table, o.by, o.baseline, report.notes);
  if (o.metric) report.metric = *o.metric;
  else if (!report.table.metrics.empty()) report.metric = report.table.metrics.front().name;  // reward when present

  remove_previous_output(report.out_dir);
  fs::create_directories(report.out_dir + "/tables");
  if (o.figures && !report.table.rows.empty()) write_figures(report, report.out_dir + "/figures");
  report.tables = write_csv_tables(report, report.out_dir + "/tables");
  report.markdown_path = report.out_dir + "/report.md";
  std::ofstream md(report.markdown_path);
  md << render_markdown(report);
  md.close();
  if (!md) throw std::runtime_error(report.markdown_path + ": write failed");
  return report;
}

}  // namespace flowbp::analysis
