// The run-log writer (docs/LOG_FORMAT.md). A row is committed by extending every
// column, then /status steps_done, then H5Fflush: what a SIGKILL can lose is the
// row in flight, never the rows before it.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "flowbp/run_log.h"
#include "run_log_hdf5.h"
#include "run_log_samples.h"

namespace flowbp {

namespace {

// Rows per chunk: small, because the partly filled last chunk is rewritten at every flush.
constexpr hsize_t kChunkRows = 256;
// Disk space is reserved ahead of HDF5's writes (see RunLog::Impl::reserve_space): a row
// needs well under kHeadroom; reservations grow by kReserveStep at a time.
constexpr std::int64_t kHeadroom = 256 << 10;
constexpr std::int64_t kReserveStep = 512 << 10;

struct Column {
  std::string name;
  bool is_integer = false;
  h5::Id dataset;
};

struct Table {
  std::string name;  // "steps" | "eval"
  h5::Id group;
  std::vector<Column> columns;
  std::int64_t rows = 0;
};

void create_columns(Table& table, const std::vector<ColumnSpec>& specs, const std::string& path) {
  h5::Id dcpl(h5::check_id(H5Pcreate(H5P_DATASET_CREATE), path, "H5Pcreate"), h5::Id::Kind::Plist);
  const hsize_t chunk[1] = {kChunkRows};
  h5::check(H5Pset_chunk(dcpl, 1, chunk), path, "H5Pset_chunk");
  const hsize_t dims[1] = {0}, max_dims[1] = {H5S_UNLIMITED};
  h5::Id space(h5::check_id(H5Screate_simple(1, dims, max_dims), path, "H5Screate_simple"), h5::Id::Kind::Dataspace);
  for (const auto& spec : specs) {
    for (const auto& c : table.columns)
      if (c.name == spec.name) throw std::invalid_argument(path + ": /" + table.name + " declares '" + spec.name + "' twice");
    const std::string what = "cannot create column /" + table.name + "/" + spec.name;
    h5::Id ds(h5::check_id(H5Dcreate2(table.group, spec.name.c_str(), spec.is_integer ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                                      space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                           path, what),
              h5::Id::Kind::Dataset);
    h5::write_attr(ds, "lower_is_better", spec.lower_is_better, path);
    table.columns.push_back({spec.name, spec.is_integer, std::move(ds)});
  }
}

void open_columns(Table& table, const std::string& path) {
  for (const auto& name : h5::link_names(table.group, path)) {
    h5::Id ds(h5::check_id(H5Dopen2(table.group, name.c_str(), H5P_DEFAULT), path,
                           "cannot open column /" + table.name + "/" + name),
              h5::Id::Kind::Dataset);
    const bool is_integer = h5::dataset_is_integer(ds, path);
    table.columns.push_back({name, is_integer, std::move(ds)});
  }
}

void set_rows(Table& table, std::int64_t rows, const std::string& path) {
  const hsize_t extent[1] = {static_cast<hsize_t>(rows)};
  for (auto& c : table.columns)
    h5::check(H5Dset_extent(c.dataset, extent), path, "cannot resize column /" + table.name + "/" + c.name);
  table.rows = rows;
}

void append_row(Table& table, const Row& row, const std::string& path) {
  if (row.size() != table.columns.size())
    throw std::invalid_argument(path + ": a /" + table.name + " row needs " + std::to_string(table.columns.size()) +
                                " values, got " + std::to_string(row.size()));
  for (std::size_t i = 0; i < row.size(); ++i)
    if (table.columns[i].is_integer && !std::isfinite(row[i]))
      throw std::invalid_argument(path + ": /" + table.name + "/" + table.columns[i].name +
                                  " is an integer column and cannot hold " + std::to_string(row[i]));
  const hsize_t start[1] = {static_cast<hsize_t>(table.rows)}, one[1] = {1},
                extent[1] = {static_cast<hsize_t>(table.rows + 1)};
  h5::Id memory(h5::check_id(H5Screate_simple(1, one, nullptr), path, "H5Screate_simple"), h5::Id::Kind::Dataspace);
  for (std::size_t i = 0; i < row.size(); ++i) {
    auto& c = table.columns[i];
    const std::string what = "cannot append to /" + table.name + "/" + c.name;
    h5::check(H5Dset_extent(c.dataset, extent), path, what);
    h5::Id file_space(h5::check_id(H5Dget_space(c.dataset), path, what), h5::Id::Kind::Dataspace);
    h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, one, nullptr), path, what);
    if (c.is_integer) {
      const std::int64_t v = std::llround(row[i]);
      h5::check(H5Dwrite(c.dataset, H5T_NATIVE_INT64, memory, file_space, H5P_DEFAULT, &v), path, what);
    } else {
      h5::check(H5Dwrite(c.dataset, H5T_NATIVE_DOUBLE, memory, file_space, H5P_DEFAULT, &row[i]), path, what);
    }
  }
  ++table.rows;
}

}  // namespace

struct RunLog::Impl {
  std::string path;
  h5::Id file, status;
  Table steps, eval;
  SampleTable samples;  // absent (no /samples) unless the header declared a grid
  std::string state = "running", reason;
  std::int64_t failed_step = -1;
  std::int64_t checkpoint_step = 0;  // the step of the last checkpoint written beside the log

  void write_status() {
    h5::write_attr(status, "state", state, path);
    h5::write_attr(status, "reason", reason, path);
    h5::write_attr(status, "failed_step", failed_step, path);
    h5::write_attr(status, "steps_done", steps.rows, path);
    h5::write_attr(status, "checkpoint_step", checkpoint_step, path);
  }
  void flush() { h5::check(H5Fflush(file, H5F_SCOPE_LOCAL), path, "cannot flush the run log to disk"); }

  // A write that fails half-way through a flush (full disk) leaves a superblock that
  // promises more bytes than the file holds, and HDF5 then refuses to open the file at
  // all. So space is allocated before HDF5 needs it: running out is then reported
  // between rows, and the file keeps every committed row.
  std::int64_t reserved = 0;
  // `extra`: bytes a row writes beyond kHeadroom's allowance (a sample grid).
  void reserve_space(std::int64_t extra = 0) {
    haddr_t eoa = 0;
    h5::check(H5Fget_eoa(file, &eoa), path, "cannot read the log's size");
    const std::int64_t need = static_cast<std::int64_t>(eoa) + kHeadroom + extra;
    if (need <= reserved) return;
    void* handle = nullptr;
    h5::check(H5Fget_vfd_handle(file, H5P_DEFAULT, &handle), path, "cannot reach the log's file descriptor");
    const int fd = *static_cast<int*>(handle);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      reserved = INT64_MAX;  // a device or pipe: nothing to reserve, writes report failures themselves
      return;
    }
    const std::int64_t target = need + kReserveStep;
    const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(target));
    if (err != 0)
      throw std::runtime_error(path + ": cannot reserve disk space for the run log (" + std::strerror(err) +
                               "); the " + std::to_string(steps.rows) + " step rows and " +
                               std::to_string(eval.rows) + " eval rows written so far are intact");
    reserved = target;
  }
};

namespace {

RunLog::Impl& open_impl(const std::unique_ptr<RunLog::Impl>& impl) {
  if (!impl) throw std::logic_error("run log used after being moved from");
  if (!impl->file.valid()) throw std::logic_error(impl->path + ": the run log is closed");
  return *impl;
}

}  // namespace

RunLog::RunLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunLog::RunLog(RunLog&&) noexcept = default;
RunLog& RunLog::operator=(RunLog&& other) noexcept {
  if (this != &other) {
    try {
      close();
    } catch (...) {
    }
    impl_ = std::move(other.impl_);
  }
  return *this;
}
RunLog::~RunLog() {
  try {
    close();
  } catch (...) {
    // A destructor cannot report; explicit close() does.
  }
}

RunLog RunLog::create(const std::string& path, const RunLogHeader& header) {
  h5::silence_errors();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = h5::Id(h5::check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, h5::unlocked_access(path)), path,
                                   "cannot create the run log"),
                      h5::Id::Kind::File);
  impl->reserve_space();
  h5::write_attr(impl->file, "schema_version", kSchemaVersion, path);
  for (const auto& [name, value] : header.root_attrs) {
    if (name == "schema_version") continue;
    h5::write_attr(impl->file, name, value, path);
  }
  h5::Id config = h5::create_ordered_group(impl->file, "config", path);
  for (const auto& [name, value] : header.config_leaves) h5::write_attr(config, name, value, path);
  impl->status = h5::create_ordered_group(impl->file, "status", path);
  h5::write_attr(impl->status, "steps_total", header.steps_total, path);
  impl->steps.name = "steps";
  impl->steps.group = h5::create_ordered_group(impl->file, "steps", path);
  create_columns(impl->steps, header.step_columns, path);
  impl->eval.name = "eval";
  impl->eval.group = h5::create_ordered_group(impl->file, "eval", path);
  create_columns(impl->eval, header.eval_columns, path);
  create_samples(impl->file, header.samples, impl->samples, path);
  impl->write_status();
  impl->flush();
  return RunLog(std::move(impl));
}

RunLog RunLog::reopen(const std::string& path, std::int64_t keep_steps, std::int64_t keep_evals) {
  h5::silence_errors();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = h5::Id(h5::check_id(H5Fopen(path.c_str(), H5F_ACC_RDWR, h5::unlocked_access(path)), path,
                                   "cannot open the run log to resume it"),
                      h5::Id::Kind::File);
  impl->reserve_space();
  const std::int64_t version = h5::read_int_attr(impl->file, "schema_version", path);
  if (version != kSchemaVersion)
    throw std::runtime_error(path + ": run log schema_version " + std::to_string(version) +
                             " cannot be resumed by this flowbp (schema_version " + std::to_string(kSchemaVersion) + ")");
  impl->status = h5::open_group(impl->file, "status", path);
  for (auto* table : {&impl->steps, &impl->eval}) {
    table->name = table == &impl->steps ? "steps" : "eval";
    table->group = h5::open_group(impl->file, table->name, path);
    open_columns(*table, path);
    const std::int64_t keep = table == &impl->steps ? keep_steps : keep_evals;
    std::int64_t complete = table->columns.empty() ? 0 : INT64_MAX;
    for (const auto& c : table->columns) complete = std::min(complete, h5::dataset_length(c.dataset, path));
    if (keep < 0 || keep > complete)
      throw std::runtime_error(path + ": cannot resume: /" + table->name + " holds " + std::to_string(complete) +
                               " complete rows, the checkpoint needs " + std::to_string(keep));
    set_rows(*table, keep, path);
  }
  reopen_samples(impl->file, keep_evals, impl->samples, path);
  impl->checkpoint_step = keep_steps;
  impl->write_status();
  impl->flush();
  return RunLog(std::move(impl));
}

void RunLog::append_step(const Row& row) {
  Impl& impl = open_impl(impl_);
  impl.reserve_space();
  append_row(impl.steps, row, impl.path);
  h5::write_attr(impl.status, "steps_done", impl.steps.rows, impl.path);
  impl.flush();
}

void RunLog::append_eval(const Row& row) {
  Impl& impl = open_impl(impl_);
  impl.reserve_space();
  append_row(impl.eval, row, impl.path);
  impl.flush();
}

void RunLog::append_samples(std::int64_t step, bool is_base, const std::vector<std::uint8_t>& pixels) {
  Impl& impl = open_impl(impl_);
  impl.reserve_space(static_cast<std::int64_t>(pixels.size()));
  append_sample_row(impl.samples, step, is_base, pixels, impl.path);
  impl.flush();
}

std::int64_t RunLog::sample_rows() const { return open_impl(impl_).samples.rows; }

std::int64_t RunLog::step_rows() const { return open_impl(impl_).steps.rows; }
std::int64_t RunLog::eval_rows() const { return open_impl(impl_).eval.rows; }

void RunLog::set_status(const std::string& state, const std::string& reason, std::int64_t failed_step) {
  Impl& impl = open_impl(impl_);
  if (state != "running" && state != "done" && state != "failed")
    throw std::invalid_argument(impl.path + ": status '" + state + "' is not one of running, done, failed");
  impl.state = state;
  impl.reason = reason;
  impl.failed_step = failed_step;
  impl.reserve_space();
  impl.write_status();
  impl.flush();
}

void RunLog::set_checkpoint_step(std::int64_t step) {
  Impl& impl = open_impl(impl_);
  impl.checkpoint_step = step;
  impl.reserve_space();
  impl.write_status();
  impl.flush();
}

void RunLog::set_root_attr(const std::string& name, const AttrValue& value) {
  Impl& impl = open_impl(impl_);
  if (name == "schema_version") throw std::invalid_argument(impl.path + ": schema_version is written by RunLog");
  impl.reserve_space();
  h5::write_attr(impl.file, name, value, impl.path);
  impl.flush();
}

void RunLog::flush() { open_impl(impl_).flush(); }

void RunLog::close() {
  if (!impl_ || !impl_->file.valid()) return;
  Impl& impl = *impl_;
  // Close everything even when a step fails, then report the first failure.
  std::string first_error;
  auto note = [&](herr_t status, const char* what) {
    if (status < 0 && first_error.empty()) first_error = what;
  };
  note(H5Fflush(impl.file, H5F_SCOPE_LOCAL), "cannot flush the run log to disk");
  for (auto* table : {&impl.steps, &impl.eval}) {
    for (auto& c : table->columns) note(c.dataset.reset(), "cannot close a column");
    note(table->group.reset(), "cannot close a group");
  }
  const std::string samples_error = close_samples(impl.samples);
  if (!samples_error.empty() && first_error.empty()) first_error = samples_error;
  note(impl.status.reset(), "cannot close a group");
  // A file whose data cannot reach the disk cannot be closed either: HDF5 1.10 then
  // leaves it half torn down. It is abandoned; the process exit closes the descriptor.
  if (first_error.empty()) note(impl.file.reset(), "cannot close the run log");
  else impl.file.release();
  if (!first_error.empty()) h5::fail(impl.path, first_error);
}

}  // namespace flowbp
