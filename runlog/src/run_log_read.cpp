// Readers of run logs: summary, whole tables, attribute sets. They refuse files of
// another schema_version and name the file in every error.
#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "flowbp/run_log.h"
#include "run_log_hdf5.h"

namespace flowbp {

namespace {

h5::Id open_log(const std::string& path) {
  h5::silence_errors();
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 <= 0) h5::fail(path, "not a readable HDF5 run log (missing, truncated or another format)");
  h5::Id file(h5::check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, h5::unlocked_access(path)), path, "cannot open the run log"),
              h5::Id::Kind::File);
  if (!h5::has_attr(file, "schema_version"))
    throw std::runtime_error(path + ": not a flowbp run log (no schema_version attribute)");
  const std::int64_t version = h5::read_int_attr(file, "schema_version", path);
  if (version != RunLog::kSchemaVersion)
    throw std::runtime_error(path + ": run log schema_version " + std::to_string(version) +
                             " is not readable by this flowbp, which reads schema_version " +
                             std::to_string(RunLog::kSchemaVersion));
  return file;
}

std::int64_t shortest_column(hid_t file, const std::string& group_name, const std::string& path) {
  h5::Id group = h5::open_group(file, group_name, path);
  std::int64_t shortest = -1;
  for (const auto& name : h5::link_names(group, path)) {
    h5::Id ds(h5::check_id(H5Dopen2(group, name.c_str(), H5P_DEFAULT), path, "cannot open column " + name),
              h5::Id::Kind::Dataset);
    const std::int64_t n = h5::dataset_length(ds, path);
    shortest = shortest < 0 ? n : std::min(shortest, n);
  }
  return shortest;
}

}  // namespace

RunLogSummary read_run_log_summary(const std::string& path) {
  h5::Id file = open_log(path);
  RunLogSummary s;
  s.schema_version = h5::read_int_attr(file, "schema_version", path);
  h5::Id status = h5::open_group(file, "status", path);
  s.state = h5::read_string_attr(status, "state", path);
  s.reason = h5::read_string_attr(status, "reason", path);
  s.failed_step = h5::read_int_attr(status, "failed_step", path);
  s.steps_total = h5::read_int_attr(status, "steps_total", path);
  s.steps_done = h5::read_int_attr(status, "steps_done", path);
  if (h5::has_attr(status, "checkpoint_step")) s.checkpoint_step = h5::read_int_attr(status, "checkpoint_step", path);
  const std::int64_t shortest = shortest_column(file, "steps", path);
  if (shortest >= 0) s.steps_done = std::min(s.steps_done, shortest);
  return s;
}

bool is_run_log_stub(const std::string& path) {
  h5::silence_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) return true;
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, h5::unlocked_access(path));
  if (id < 0) return true;
  h5::Id file(id, h5::Id::Kind::File);
  return !h5::has_attr(file, "schema_version") || H5Lexists(file, "status", H5P_DEFAULT) <= 0;
}

std::vector<ColumnData> read_run_log_table(const std::string& path, const std::string& group_name) {
  if (group_name != "steps" && group_name != "eval")
    throw std::invalid_argument(path + ": a run log's tables are 'steps' and 'eval', not '" + group_name + "'");
  h5::Id file = open_log(path);
  h5::Id group = h5::open_group(file, group_name, path);
  std::vector<ColumnData> out;
  for (const auto& name : h5::link_names(group, path)) {
    h5::Id ds(h5::check_id(H5Dopen2(group, name.c_str(), H5P_DEFAULT), path, "cannot open column " + name),
              h5::Id::Kind::Dataset);
    ColumnData c;
    c.name = name;
    c.is_integer = h5::dataset_is_integer(ds, path);
    if (h5::has_attr(ds, "lower_is_better")) {
      AttrValue v = h5::read_attr(ds, "lower_is_better", path);
      c.lower_is_better = std::holds_alternative<bool>(v) ? std::get<bool>(v)
                          : std::holds_alternative<std::int64_t>(v) && std::get<std::int64_t>(v) != 0;
    }
    c.values = h5::read_dataset(ds, path);
    out.push_back(std::move(c));
  }
  return out;
}

SampleGrids read_run_log_samples(const std::string& path) {
  h5::Id file = open_log(path);
  SampleGrids out;
  if (H5Lexists(file, "samples", H5P_DEFAULT) <= 0) return out;
  h5::Id group = h5::open_group(file, "samples", path);
  SampleGridSpec& spec = out.spec;
  spec.height = h5::read_int_attr(group, "height", path);
  spec.width = h5::read_int_attr(group, "width", path);
  spec.channels = h5::read_int_attr(group, "channels", path);
  auto open = [&](const char* name) {
    return h5::Id(h5::check_id(H5Dopen2(group, name, H5P_DEFAULT), path, std::string("cannot open /samples/") + name),
                  h5::Id::Kind::Dataset);
  };
  h5::Id conditions = open("conditions"), images = open("images"), step = open("step"), is_base = open("is_base");
  for (const auto& c : h5::read_dataset(conditions, path)) spec.conditions.push_back(static_cast<std::int64_t>(c));
  h5::Id space(h5::check_id(H5Dget_space(images), path, "cannot read /samples/images"), h5::Id::Kind::Dataspace);
  hsize_t dims[5] = {0, 0, 0, 0, 0};
  if (H5Sget_simple_extent_ndims(space) != 5 || H5Sget_simple_extent_dims(space, dims, nullptr) < 0 ||
      dims[1] != spec.conditions.size() || static_cast<std::int64_t>(dims[2]) != spec.height ||
      static_cast<std::int64_t>(dims[3]) != spec.width || static_cast<std::int64_t>(dims[4]) != spec.channels)
    throw std::runtime_error(path + ": /samples/images is not [rows, " + std::to_string(spec.conditions.size()) +
                             ", height, width, channels] as /samples's attributes say");
  const std::vector<double> steps = h5::read_dataset(step, path), bases = h5::read_dataset(is_base, path);
  // A killed writer may leave one dataset a row longer than the others.
  const std::size_t rows = std::min({static_cast<std::size_t>(dims[0]), steps.size(), bases.size()});
  for (std::size_t r = 0; r < rows; ++r) {
    out.step.push_back(static_cast<std::int64_t>(steps[r]));
    out.is_base.push_back(static_cast<std::int64_t>(bases[r]));
  }
  out.pixels.resize(rows * spec.bytes());
  if (rows > 0) {
    hsize_t start[5] = {0, 0, 0, 0, 0}, count[5] = {rows, dims[1], dims[2], dims[3], dims[4]};
    h5::check(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr), path, "cannot read /samples/images");
    h5::Id memory(h5::check_id(H5Screate_simple(5, count, nullptr), path, "cannot read /samples/images"),
                  h5::Id::Kind::Dataspace);
    h5::check(H5Dread(images, H5T_NATIVE_UINT8, memory, space, H5P_DEFAULT, out.pixels.data()), path,
              "cannot read /samples/images");
  }
  return out;
}

std::vector<std::pair<std::string, AttrValue>> read_run_log_attrs(const std::string& path, const std::string& object) {
  h5::Id file = open_log(path);
  if (object == "/" || object.empty()) return h5::read_all_attrs(file, path);
  h5::Id group = h5::open_group(file, object, path);
  return h5::read_all_attrs(group, path);
}

}  // namespace flowbp
