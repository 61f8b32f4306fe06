// `flowbp report` as a library: options in, the tables, notes and figure paths
// out, so tests drive exactly what the command runs.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "run_record.h"
#include "tables.h"

namespace flowbp::analysis {

struct ReportOptions {
  std::vector<std::string> inputs;      // directories (searched recursively) and files
  std::string out_dir;                  // default: <first input dir>/report
  std::optional<std::string> metric;    // metric for the sweep and eval figures (default reward)
  std::optional<std::string> by;        // ablation key (default: automatic)
  std::optional<std::string> baseline;  // ablation reference value (default: the first)
  std::set<std::string> ignored_keys;   // config keys that are not swept settings
  bool figures = true;
};

struct SamplePanel {
  std::string label;   // "base model", or the Table 2 row's name
  std::string source;  // the log it came from
  std::int64_t step = 0;
  std::int64_t seed = -1;
};

struct SampleFigure {
  std::string path;  // the PNG
  std::vector<SamplePanel> panels;  // left to right, top to bottom
  int rows = 0, columns = 0;        // the grid of each panel: conditions × samples per condition
};

struct Report {
  std::string out_dir;
  std::vector<RunRecord> runs;  // every file found, in path order
  MainTable table;
  std::vector<AblationTable> ablations;
  std::vector<FidelityRow> fidelity;  // rows whose runs ran the gradient-fidelity diagnostic
  std::string metric;
  std::vector<std::string> notes;
  std::vector<std::string> figures;  // paths of the PNGs written
  std::vector<SampleFigure> sample_grids;  // those of them that are sample grids, with their panels
  std::vector<std::string> tables;   // paths of the CSVs written
  std::string markdown_path;
};

// The default --out for these inputs.
std::string default_out_dir(const std::vector<std::string>& inputs);

// Reads, tabulates, writes report.md, tables/*.csv and (unless disabled) figures/*.png.
// Throws std::runtime_error for bad options (unknown --metric or --by key, with a
// "did you mean", inputs that do not exist); bad files are reported, never thrown.
Report make_report(const ReportOptions& options);

// The Markdown shown on the terminal and saved as report.md.
std::string render_markdown(const Report& report);

}  // namespace flowbp::analysis
