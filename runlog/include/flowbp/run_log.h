// One run's HDF5 log (docs/LOG_FORMAT.md): root attributes, /config, /status,
// and the /steps and /eval column tables, flushed after every row so a killed
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

struct RunLogHeader {
  std::vector<std::pair<std::string, AttrValue>> root_attrs;    // schema_version is added by RunLog
  std::vector<std::pair<std::string, AttrValue>> config_leaves; // /config attributes, dotted keys
  std::vector<ColumnSpec> step_columns;
  std::vector<ColumnSpec> eval_columns;
  std::int64_t steps_total = 0;
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
  // the first keep_evals rows of /eval (dropping rows written after the checkpoint).
  static RunLog reopen(const std::string& path, std::int64_t keep_steps, std::int64_t keep_evals);

  RunLog(RunLog&&) noexcept;
  RunLog& operator=(RunLog&&) noexcept;
  ~RunLog();

  void append_step(const Row& row);
  void append_eval(const Row& row);
  std::int64_t step_rows() const;
  std::int64_t eval_rows() const;
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
// object: "/" (root attributes), "/config" or "/status"; sorted by name.
std::vector<std::pair<std::string, AttrValue>> read_run_log_attrs(const std::string& path,
                                                                 const std::string& object);

}  // namespace flowbp
