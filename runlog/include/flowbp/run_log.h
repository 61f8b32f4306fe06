// One run's HDF5 log (docs/LOG_FORMAT.md): root attributes, /config, /status,
// the /steps and /eval column tables and, for image backbones, /samples (the
// evaluation's sample grid as 8-bit images), flushed after every row so a killed
// process leaves a readable file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace flowbp {

using AttrValue = std::variant<bool, std::int64_t, double, std::string>;

struct ColumnSpec {
  std::string name;
  bool is_integer = false;     // int64 column, else float64
  bool lower_is_better = false; // written as a column attribute (metrics)
};

// The sample grid of an image backbone (/samples): one image per entry of
// `conditions` (the condition it was drawn for), height × width × channels bytes each.
// Empty conditions: the log has no /samples (the samples are not images).
struct SampleGridSpec {
  std::int64_t height = 0, width = 0, channels = 0;
  std::vector<std::int64_t> conditions;
  bool empty() const { return conditions.empty(); }
  std::size_t bytes() const;  // of one grid (one row of /samples/images)
};

struct RunLogHeader {
  std::vector<std::pair<std::string, AttrValue>> root_attrs;    // schema_version is added by RunLog
  std::vector<std::pair<std::string, AttrValue>> config_leaves; // /config attributes, dotted keys
  std::vector<ColumnSpec> step_columns;
  std::vector<ColumnSpec> eval_columns;
  std::int64_t steps_total = 0;
  SampleGridSpec samples;  // empty: no /samples group
};

// A row: one value per declared column, in declaration order (ints as double are fine
// for integer columns: they are rounded).
using Row = std::vector<double>;

class RunLog {
 public:
  static constexpr std::int64_t kSchemaVersion = 1;

  // Creates (truncates) the file and writes the header; status "running".
  static RunLog create(const std::string& path, const RunLogHeader& header);
  // Reopens a run's file to continue it: keeps the first keep_steps rows of /steps and
  // the first keep_evals rows of /eval and /samples (dropping rows written after the
  // checkpoint).
  static RunLog reopen(const std::string& path, std::int64_t keep_steps, std::int64_t keep_evals);

  RunLog(RunLog&&) noexcept;
  RunLog& operator=(RunLog&&) noexcept;
  ~RunLog();

  void append_step(const Row& row);
  void append_eval(const Row& row);
  // One grid of the evaluation at `step` (the trainer writes it just before that
  // evaluation's /eval row): spec.bytes() pixels, images in the order of
  // spec.conditions, each row-major H × W × C. Throws std::logic_error when the log was
  // created without a sample grid.
  void append_samples(std::int64_t step, bool is_base, const std::vector<std::uint8_t>& pixels);
  std::int64_t step_rows() const;
  std::int64_t eval_rows() const;
  std::int64_t sample_rows() const;  // 0 without a sample grid
  void set_status(const std::string& state, const std::string& reason = "", std::int64_t failed_step = -1);
  void set_root_attr(const std::string& name, const AttrValue& value);
  // Records that a checkpoint of this step now sits beside the log (what --resume continues after).
  void set_checkpoint_step(std::int64_t step);
  void flush();
  void close();

  struct Impl;

 private:
  explicit RunLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// For readers (analysis, tests): the status and schema of a file without loading it all.
struct RunLogSummary {
  std::int64_t schema_version = -1;
  std::string state, reason;
  std::int64_t steps_done = 0, steps_total = 0, failed_step = -1;
  std::int64_t checkpoint_step = -1;  // of the last checkpoint; -1 when the log does not say
};
// steps_done is the number of /steps rows complete in every column: after a hard kill it
// is min(status steps_done, shortest column). Throws std::runtime_error with the path for
// a missing, corrupt or non-run-log file, or another schema_version.
RunLogSummary read_run_log_summary(const std::string& path);
// True when a file is at `path` but holds no committed run-log header (not HDF5, or HDF5
// without flowbp's schema_version and /status): what a write that failed while the log
// was being created (a full disk) leaves behind. Such a file holds nothing to keep.
bool is_run_log_stub(const std::string& path);

// Whole tables and attribute sets, for tests and small readers (analysis may read columns
// itself). Integer columns come back as doubles.
struct ColumnData {
  std::string name;
  bool is_integer = false;
  bool lower_is_better = false;
  std::vector<double> values;
};
// group: "steps" or "eval"; columns in declaration order.
std::vector<ColumnData> read_run_log_table(const std::string& path, const std::string& group);
// The sample grids of a log: spec (empty when the log has none) and one grid per row,
// rows complete in every dataset only (a killed writer's partial row is left out).
struct SampleGrids {
  SampleGridSpec spec;
  std::vector<std::int64_t> step, is_base;  // per row
  std::vector<std::uint8_t> pixels;         // rows × spec.bytes()
  std::int64_t rows() const { return static_cast<std::int64_t>(step.size()); }
  const std::uint8_t* grid(std::int64_t row) const { return pixels.data() + static_cast<std::size_t>(row) * spec.bytes(); }
};
SampleGrids read_run_log_samples(const std::string& path);

// object: "/" (root attributes), "/config" or "/status"; sorted by name.
std::vector<std::pair<std::string, AttrValue>> read_run_log_attrs(const std::string& path,
                                                                 const std::string& object);

}  // namespace flowbp
