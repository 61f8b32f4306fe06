#include "report.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "csv_writer.h"
#include "figures.h"
#include "flowbp/did_you_mean.h"
#include "log_scan.h"
#include "run_log_reader.h"
#include "sample_grids.h"

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

// The files a report writes, or removes as stale, in its --out.
std::vector<fs::path> report_files(const std::string& out_dir) {
  std::vector<fs::path> files = {fs::path(out_dir) / "report.md"};
  for (const char* name : {"main.csv", "ablation.csv", "fidelity.csv", "status.csv"}) files.push_back(fs::path(out_dir) / "tables" / name);
  std::error_code ec;
  for (const auto& dir : {fs::path(out_dir) / "figures", fs::path(out_dir) / "figures" / "data"}) {
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file(ec) && (ext == ".png" || ext == ".dat" || ext == ".gp" || ext == ".log"))
        files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// An earlier report (its report.md starts with our heading) may be replaced; a directory
// of other files the report would overwrite or remove (a paper's own figures/) may not.
void check_not_foreign(const std::string& out_dir, const std::string& what) {
  std::error_code ec;
  {
    std::ifstream md(fs::path(out_dir) / "report.md");
    std::string first;
    if (md && std::getline(md, first) && first == "# flowbp report") return;
  }
  for (const auto& p : report_files(out_dir))
    if (fs::exists(p, ec))
      throw std::runtime_error(what + ": holds " + p.string() +
                               ", which is not from a flowbp report (no report.md of one there); the report would "
                               "overwrite or remove it. Give a new or empty directory, or an earlier report's");
}

// --out must be a directory or a path one can create as one; checked before anything is
// read or written, so a typo never costs a report's work or an existing file.
void check_out_dir(const std::string& out_dir, bool given) {
  const std::string what = given ? "--out " + out_dir : "the output directory " + out_dir;
  std::error_code ec;
  const fs::path out(out_dir);
  const auto st = fs::status(out, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st))
      throw std::runtime_error(what + ": exists and is not a directory (give a directory for the report)");
    if (::access(out_dir.c_str(), W_OK | X_OK) != 0)
      throw std::runtime_error(what + ": directory is not writable (" + std::strerror(errno) + ")");
    check_not_foreign(out_dir, what);
    return;
  }
  // The nearest existing ancestor must be a writable directory.
  fs::path p = out.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "dir/"
  for (;;) {
    fs::path parent = p.parent_path();
    if (parent.empty()) parent = ".";
    const auto pst = fs::status(parent, ec);
    if (fs::exists(pst)) {
      if (!fs::is_directory(pst))
        throw std::runtime_error(what + ": cannot be created: " + parent.string() + " is not a directory");
      if (::access(parent.c_str(), W_OK | X_OK) != 0)
        throw std::runtime_error(what + ": cannot be created in " + parent.string() + " (" + std::strerror(errno) + ")");
      return;
    }
    if (parent == p) break;
    p = parent;
  }
  throw std::runtime_error(what + ": cannot be created (no existing parent directory)");
}

// Runs of different backbones are never pooled into one row: each row's gain is over its own base model.
void check_ignored_keys(const ReportOptions& o, const MainTable& table) {
  if (table.backbones.size() < 2) return;
  for (const auto& key : o.ignored_keys)
    for (const auto& kv : table.backbones.front().differing)
      if (kv.first == key)
        throw std::runtime_error("--ignore " + key + ": these runs use " + std::to_string(table.backbones.size()) +
                                 " backbones (base models) that differ in " + key +
                                 "; rows never pool runs of different base models (each row's gain is over its own "
                                 "backbone's base model), so the key cannot be ignored");
}

// A table or figure left from an earlier report into the same --out would read as
// part of this one; only files of the kinds the report writes are removed.
// (check_not_foreign made sure they are an earlier report's.)
void remove_previous_output(const std::string& out_dir) {
  std::error_code ec;
  for (const auto& p : report_files(out_dir))
    if (p.filename() != "report.md") fs::remove(p, ec);
}

}  // namespace

Report make_report(const ReportOptions& o) {
  if (o.inputs.empty()) throw std::runtime_error("no input: give run directories or log files");
  Report report;
  report.out_dir = o.out_dir.empty() ? default_out_dir(o.inputs) : o.out_dir;
  // A given --out first (before the inputs); the default one once the inputs are known to exist.
  if (!o.out_dir.empty()) check_out_dir(report.out_dir, true);
  const auto paths = find_run_logs(o.inputs, report.out_dir);
  if (o.out_dir.empty()) check_out_dir(report.out_dir, false);
  for (const auto& path : paths) report.runs.push_back(read_run_log(path));
  if (report.runs.empty()) throw std::runtime_error("no run logs (*.h5) found under the given inputs");

  std::vector<const RunRecord*> done;
  for (const auto& r : report.runs)
    if (r.state == RunState::Done) done.push_back(&r);
  report.table = build_main_table(group_runs(done, o.ignored_keys), report.notes);
  check_options(o, report, done);
  check_ignored_keys(o, report.table);
  if (o.by && report.table.rows.size()) {
    bool varies = std::any_of(report.table.rows.begin(), report.table.rows.end(), [&](const Group& g) {
      return std::any_of(g.setting.begin(), g.setting.end(), [&](const auto& kv) { return kv.first == *o.by; });
    });
    if (!varies) report.notes.push_back("--by " + *o.by + ": the key does not vary within any method; no ablation table");
  }
  report.ablations = build_ablations(report.table, o.by, o.baseline, report.notes);
  report.fidelity = build_fidelity_table(report.table);
  if (o.metric) report.metric = *o.metric;
  else if (!report.table.metrics.empty()) report.metric = report.table.metrics.front().name;  // reward when present

  remove_previous_output(report.out_dir);
  fs::create_directories(report.out_dir + "/tables");
  if (o.figures && !report.table.rows.empty()) {
    write_figures(report, report.out_dir + "/figures");
    report.sample_grids = write_sample_grids(report, report.out_dir + "/figures");
  }
  report.tables = write_csv_tables(report, report.out_dir + "/tables");
  report.markdown_path = report.out_dir + "/report.md";
  std::ofstream md(report.markdown_path);
  md << render_markdown(report);
  md.close();
  if (!md) throw std::runtime_error(report.markdown_path + ": write failed");
  return report;
}

}  // namespace flowbp::analysis
