#include "run_log_samples.h"

#include <algorithm>
#include <stdexcept>

namespace flowbp {

std::size_t SampleGridSpec::bytes() const {
  return conditions.size() * static_cast<std::size_t>(height * width * channels);
}

namespace {

// [rows, n, H, W, C] of one grid per row.
constexpr int kRank = 5;

void grid_dims(const SampleGridSpec& s, hsize_t rows, hsize_t dims[kRank]) {
  dims[0] = rows;
  dims[1] = s.conditions.size();
  dims[2] = static_cast<hsize_t>(s.height);
  dims[3] = static_cast<hsize_t>(s.width);
  dims[4] = static_cast<hsize_t>(s.channels);
}

h5::Id create_dataset(hid_t group, const char* name, hid_t type, int rank, const hsize_t* dims, const hsize_t* chunk,
                      bool deflate, const std::string& path) {
  const std::string what = std::string("cannot create /samples/") + name;
  h5::Id dcpl(h5::check_id(H5Pcreate(H5P_DATASET_CREATE), path, what), h5::Id::Kind::Plist);
  h5::check(H5Pset_chunk(dcpl, rank, chunk), path, what);
  // Grids compress well (backgrounds); h5py reads deflate without plugins.
  if (deflate && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) h5::check(H5Pset_deflate(dcpl, 4), path, what);
  std::vector<hsize_t> max_dims(dims, dims + rank);
  max_dims[0] = H5S_UNLIMITED;
  h5::Id space(h5::check_id(H5Screate_simple(rank, dims, max_dims.data()), path, what), h5::Id::Kind::Dataspace);
  return h5::Id(h5::check_id(H5Dcreate2(group, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path, what),
                h5::Id::Kind::Dataset);
}

h5::Id open_dataset(hid_t group, const char* name, const std::string& path) {
  return h5::Id(h5::check_id(H5Dopen2(group, name, H5P_DEFAULT), path, std::string("cannot open /samples/") + name),
                h5::Id::Kind::Dataset);
}

std::int64_t rows_of(hid_t dataset, const std::string& path) {
  h5::Id space(h5::check_id(H5Dget_space(dataset), path, "cannot read /samples"), h5::Id::Kind::Dataspace);
  hsize_t dims[kRank] = {0, 0, 0, 0, 0};
  if (H5Sget_simple_extent_ndims(space) < 1 || H5Sget_simple_extent_ndims(space) > kRank)
    h5::fail(path, "/samples holds a dataset of unexpected rank");
  h5::check(H5Sget_simple_extent_dims(space, dims, nullptr), path, "cannot read /samples");
  return static_cast<std::int64_t>(dims[0]);
}

void set_rows(SampleTable& t, std::int64_t rows, const std::string& path) {
  hsize_t dims[kRank];
  grid_dims(t.spec, static_cast<hsize_t>(rows), dims);
  h5::check(H5Dset_extent(t.images, dims), path, "cannot resize /samples/images");
  const hsize_t one[1] = {static_cast<hsize_t>(rows)};
  h5::check(H5Dset_extent(t.step, one), path, "cannot resize /samples/step");
  h5::check(H5Dset_extent(t.is_base, one), path, "cannot resize /samples/is_base");
  t.rows = rows;
}

void write_int(hid_t dataset, std::int64_t row, std::int64_t value, const std::string& what, const std::string& path) {
  const hsize_t start[1] = {static_cast<hsize_t>(row)}, one[1] = {1};
  h5::Id file_space(h5::check_id(H5Dget_space(dataset), path, what), h5::Id::Kind::Dataspace);
  h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, one, nullptr), path, what);
  h5::Id memory(h5::check_id(H5Screate_simple(1, one, nullptr), path, what), h5::Id::Kind::Dataspace);
  h5::check(H5Dwrite(dataset, H5T_NATIVE_INT64, memory, file_space, H5P_DEFAULT, &value), path, what);
}

}  // namespace

void create_samples(hid_t file, const SampleGridSpec& spec, SampleTable& t, const std::string& path) {
  if (spec.empty()) return;
  if (spec.height <= 0 || spec.width <= 0 || spec.channels <= 0)
    throw std::invalid_argument(path + ": a sample grid needs positive height, width and channels");
  t.spec = spec;
  t.group = h5::create_ordered_group(file, "samples", path);
  h5::write_attr(t.group, "height", spec.height, path);
  h5::write_attr(t.group, "width", spec.width, path);
  h5::write_attr(t.group, "channels", spec.channels, path);
  hsize_t dims[kRank], chunk[kRank];
  grid_dims(spec, 0, dims);
  grid_dims(spec, 1, chunk);
  t.images = create_dataset(t.group, "images", H5T_STD_U8LE, kRank, dims, chunk, true, path);
  const hsize_t zero[1] = {0}, rows_chunk[1] = {64};
  t.step = create_dataset(t.group, "step", H5T_STD_I64LE, 1, zero, rows_chunk, false, path);
  t.is_base = create_dataset(t.group, "is_base", H5T_STD_I64LE, 1, zero, rows_chunk, false, path);
  const hsize_t n[1] = {spec.conditions.size()};
  h5::Id space(h5::check_id(H5Screate_simple(1, n, nullptr), path, "cannot create /samples/conditions"),
               h5::Id::Kind::Dataspace);
  h5::Id conditions(h5::check_id(H5Dcreate2(t.group, "conditions", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                            H5P_DEFAULT),
                                 path, "cannot create /samples/conditions"),
                    h5::Id::Kind::Dataset);
  h5::check(H5Dwrite(conditions, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, spec.conditions.data()), path,
            "cannot write /samples/conditions");
}

void reopen_samples(hid_t file, std::int64_t keep, SampleTable& t, const std::string& path) {
  if (H5Lexists(file, "samples", H5P_DEFAULT) <= 0) return;
  t.group = h5::open_group(file, "samples", path);
  t.spec.height = h5::read_int_attr(t.group, "height", path);
  t.spec.width = h5::read_int_attr(t.group, "width", path);
  t.spec.channels = h5::read_int_attr(t.group, "channels", path);
  h5::Id conditions = open_dataset(t.group, "conditions", path);
  t.spec.conditions.resize(static_cast<std::size_t>(rows_of(conditions, path)));
  h5::check(H5Dread(conditions, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.spec.conditions.data()), path,
            "cannot read /samples/conditions");
  t.images = open_dataset(t.group, "images", path);
  t.step = open_dataset(t.group, "step", path);
  t.is_base = open_dataset(t.group, "is_base", path);
  const std::int64_t complete =
      std::min({rows_of(t.images, path), rows_of(t.step, path), rows_of(t.is_base, path)});
  set_rows(t, std::max<std::int64_t>(0, std::min(keep, complete)), path);
}

void append_sample_row(SampleTable& t, std::int64_t step, bool is_base, const std::vector<std::uint8_t>& pixels,
                       const std::string& path) {
  if (!t.present()) throw std::logic_error(path + ": this run log was created without a sample grid");
  if (pixels.size() != t.spec.bytes())
    throw std::invalid_argument(path + ": a sample grid needs " + std::to_string(t.spec.bytes()) + " bytes, got " +
                                std::to_string(pixels.size()));
  const std::int64_t row = t.rows;
  set_rows(t, row + 1, path);
  hsize_t start[kRank] = {static_cast<hsize_t>(row), 0, 0, 0, 0}, count[kRank];
  grid_dims(t.spec, 1, count);
  const std::string what = "cannot append to /samples/images";
  h5::Id file_space(h5::check_id(H5Dget_space(t.images), path, what), h5::Id::Kind::Dataspace);
  h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), path, what);
  h5::Id memory(h5::check_id(H5Screate_simple(kRank, count, nullptr), path, what), h5::Id::Kind::Dataspace);
  h5::check(H5Dwrite(t.images, H5T_NATIVE_UINT8, memory, file_space, H5P_DEFAULT, pixels.data()), path, what);
  write_int(t.step, row, step, "cannot append to /samples/step", path);
  write_int(t.is_base, row, is_base ? 1 : 0, "cannot append to /samples/is_base", path);
}

std::string close_samples(SampleTable& t) {
  std::string first;
  for (h5::Id* id : {&t.images, &t.step, &t.is_base, &t.group})
    if (id->reset() < 0 && first.empty()) first = "cannot close /samples";
  return first;
}

}  // namespace flowbp
