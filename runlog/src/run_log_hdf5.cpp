#include "run_log_hdf5.h"

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace flowbp::h5 {

void silence_errors() {
  static std::once_flag once;
  std::call_once(once, [] {
    // HDF5 1.10's exit handler re-closes files whose close failed (a full disk) and
    // crashes there; RunLog closes its files itself, so the handler has nothing to do.
    // (Refused, harmlessly, when something else used HDF5 first.)
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

namespace {

herr_t collect_error(unsigned, const H5E_error2_t* error, void* data) {
  auto& lines = *static_cast<std::vector<std::string>*>(data);
  if (error && error->desc && *error->desc) lines.emplace_back(error->desc);
  return 0;
}

}  // namespace

std::string take_error_stack() {
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &lines);
  H5Eclear2(H5E_DEFAULT);
  // The outermost line says what failed, the innermost why (often with errno text).
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  if (lines.size() > 2) lines = {lines.front(), lines.back()};
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : ": ") + l;
  return out;
}

void fail(const std::string& path, const std::string& what) {
  const std::string stack = take_error_stack();
  throw std::runtime_error(path + ": " + what + (stack.empty() ? "" : " (" + stack + ")"));
}

hid_t check_id(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) fail(path, what);
  return id;
}

void check(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) fail(path, what);
}

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    kind_ = other.kind_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

herr_t Id::reset() {
  if (id_ < 0) return 0;
  herr_t status = 0;
  switch (kind_) {
    case Kind::File: status = H5Fclose(id_); break;
    case Kind::Group: status = H5Gclose(id_); break;
    case Kind::Dataset: status = H5Dclose(id_); break;
    case Kind::Dataspace: status = H5Sclose(id_); break;
    case Kind::Datatype: status = H5Tclose(id_); break;
    case Kind::Attribute: status = H5Aclose(id_); break;
    case Kind::Plist: status = H5Pclose(id_); break;
  }
  id_ = H5I_INVALID_HID;
  return status;
}

Id unlocked_access(const std::string& path) {
  Id fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), path, "H5Pcreate"), Id::Kind::Plist);
  check(H5Pset_file_locking(fapl, false, true), path, "cannot turn off file locking");
  return fapl;
}

Id open_group(hid_t parent, const std::string& name, const std::string& path) {
  return Id(check_id(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), path, "cannot open group " + name),
            Id::Kind::Group);
}

Id create_ordered_group(hid_t parent, const std::string& name, const std::string& path) {
  Id gcpl(check_id(H5Pcreate(H5P_GROUP_CREATE), path, "H5Pcreate"), Id::Kind::Plist);
  check(H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), path,
        "cannot track link order");
  return Id(check_id(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), path,
                     "cannot create group " + name),
            Id::Kind::Group);
}

namespace {

Id utf8_string_type(const std::string& path) {
  Id type(check_id(H5Tcopy(H5T_C_S1), path, "H5Tcopy"), Id::Kind::Datatype);
  check(H5Tset_size(type, H5T_VARIABLE), path, "H5Tset_size");
  check(H5Tset_cset(type, H5T_CSET_UTF8), path, "H5Tset_cset");
  return type;
}

}  // namespace

bool has_attr(hid_t object, const std::string& name) { return H5Aexists(object, name.c_str()) > 0; }

void write_attr(hid_t object, const std::string& name, const AttrValue& value, const std::string& path) {
  const std::string what = "cannot write attribute '" + name + "'";
  const htri_t exists = H5Aexists(object, name.c_str());
  if (exists < 0) fail(path, what);
  if (exists > 0) check(H5Adelete(object, name.c_str()), path, what);
  Id space(check_id(H5Screate(H5S_SCALAR), path, what), Id::Kind::Dataspace);
  auto create = [&](hid_t file_type) {
    return Id(check_id(H5Acreate2(object, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), path, what),
              Id::Kind::Attribute);
  };
  if (auto b = std::get_if<bool>(&value)) {
    const std::int8_t v = *b ? 1 : 0;
    check(H5Awrite(create(H5T_STD_I8LE), H5T_NATIVE_INT8, &v), path, what);
  } else if (auto i = std::get_if<std::int64_t>(&value)) {
    check(H5Awrite(create(H5T_STD_I64LE), H5T_NATIVE_INT64, i), path, what);
  } else if (auto d = std::get_if<double>(&value)) {
    check(H5Awrite(create(H5T_IEEE_F64LE), H5T_NATIVE_DOUBLE, d), path, what);
  } else {
    Id type = utf8_string_type(path);
    const char* text = std::get<std::string>(value).c_str();
    check(H5Awrite(create(type), type, &text), path, what);
  }
}

AttrValue read_attr(hid_t object, const std::string& name, const std::string& path) {
  const std::string what = "cannot read attribute '" + name + "'";
  Id attr(check_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), path, what), Id::Kind::Attribute);
  Id type(check_id(H5Aget_type(attr), path, what), Id::Kind::Datatype);
  Id space(check_id(H5Aget_space(attr), path, what), Id::Kind::Dataspace);
  if (H5Sget_simple_extent_npoints(space) != 1) fail(path, "attribute '" + name + "' is not a single value");
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      std::int64_t v = 0;
      check(H5Aread(attr, H5T_NATIVE_INT64, &v), path, what);
      if (H5Tget_size(type) == 1) return v != 0;  // bools are stored as int8
      return v;
    }
    case H5T_FLOAT: {
      double v = 0;
      check(H5Aread(attr, H5T_NATIVE_DOUBLE, &v), path, what);
      return v;
    }
    case H5T_STRING: {
      if (H5Tis_variable_str(type) > 0) {
        char* text = nullptr;
        check(H5Aread(attr, type, &text), path, what);
        std::string out = text ? text : "";
        H5free_memory(text);
        return out;
      }
      std::string buf(H5Tget_size(type), '\0');
      check(H5Aread(attr, type, buf.data()), path, what);
      return std::string(buf.c_str());
    }
    default: fail(path, "attribute '" + name + "' has a type a run log does not use");
  }
}

std::int64_t read_int_attr(hid_t object, const std::string& name, const std::string& path) {
  AttrValue v = read_attr(object, name, path);
  if (auto i = std::get_if<std::int64_t>(&v)) return *i;
  throw std::runtime_error(path + ": attribute '" + name + "' is not an integer");
}

std::string read_string_attr(hid_t object, const std::string& name, const std::string& path) {
  AttrValue v = read_attr(object, name, path);
  if (auto s = std::get_if<std::string>(&v)) return *s;
  throw std::runtime_error(path + ": attribute '" + name + "' is not a string");
}

namespace {

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

herr_t collect_link_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

}  // namespace

std::vector<std::pair<std::string, AttrValue>> read_all_attrs(hid_t object, const std::string& path) {
  std::vector<std::string> names;
  check(H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr_name, &names), path,
        "cannot list attributes");
  std::vector<std::pair<std::string, AttrValue>> out;
  for (const auto& n : names) out.emplace_back(n, read_attr(object, n, path));
  return out;
}

std::vector<std::string> link_names(hid_t group, const std::string& path) {
  Id gcpl(check_id(H5Gget_create_plist(group), path, "cannot read group properties"), Id::Kind::Plist);
  unsigned flags = 0;
  check(H5Pget_link_creation_order(gcpl, &flags), path, "cannot read group properties");
  const H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  check(H5Literate(group, index, H5_ITER_INC, nullptr, collect_link_name, &names), path, "cannot list a group");
  return names;
}

std::int64_t dataset_length(hid_t dataset, const std::string& path) {
  Id space(check_id(H5Dget_space(dataset), path, "cannot read a dataset's extent"), Id::Kind::Dataspace);
  if (H5Sget_simple_extent_ndims(space) != 1) fail(path, "a column is not 1-D");
  hsize_t dims[1] = {0};
  check(H5Sget_simple_extent_dims(space, dims, nullptr), path, "cannot read a dataset's extent");
  return static_cast<std::int64_t>(dims[0]);
}

bool dataset_is_integer(hid_t dataset, const std::string& path) {
  Id type(check_id(H5Dget_type(dataset), path, "cannot read a dataset's type"), Id::Kind::Datatype);
  return H5Tget_class(type) == H5T_INTEGER;
}

std::vector<double> read_dataset(hid_t dataset, const std::string& path) {
  std::vector<double> out(static_cast<std::size_t>(dataset_length(dataset, path)));
  if (!out.empty())
    check(H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path,
          "cannot read a column");
  return out;
}

}  // namespace flowbp::h5
