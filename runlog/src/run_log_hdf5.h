// Small checked wrappers over the HDF5 C API shared by the run-log writer and
// readers. Every failure becomes std::runtime_error naming the file, with the
// library's own error stack (silenced on stderr) folded into the message.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "flowbp/run_log.h"

namespace flowbp::h5 {

// Turns off HDF5's automatic printing of its error stack (we build messages ourselves).
void silence_errors();
// The current error stack as one line (outermost to innermost), then clears it.
std::string take_error_stack();

[[noreturn]] void fail(const std::string& path, const std::string& what);
hid_t check_id(hid_t id, const std::string& path, const std::string& what);
void check(herr_t status, const std::string& path, const std::string& what);

// Owns one identifier; closes it with the matching H5*close.
class Id {
 public:
  enum class Kind { File, Group, Dataset, Dataspace, Datatype, Attribute, Plist };
  Id() = default;
  Id(hid_t id, Kind kind) : id_(id), kind_(kind) {}
  Id(Id&& other) noexcept : id_(other.id_), kind_(other.kind_) { other.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& other) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: these are handles for C calls
  bool valid() const { return id_ >= 0; }
  herr_t reset();  // closes now; returns the close status
  void release() { id_ = H5I_INVALID_HID; }  // forgets the id without closing it

 private:
  hid_t id_ = H5I_INVALID_HID;
  Kind kind_ = Kind::Plist;
};

// File access without HDF5's flock: a run log has one writer, and readers (h5py, the
// sweep runner, `flowbp report`) must be able to look at a log while it is written.
Id unlocked_access(const std::string& path);

Id open_group(hid_t parent, const std::string& name, const std::string& path);
// A group that remembers the creation order of its links (column order for readers).
Id create_ordered_group(hid_t parent, const std::string& name, const std::string& path);

void write_attr(hid_t object, const std::string& name, const AttrValue& value, const std::string& path);
bool has_attr(hid_t object, const std::string& name);
AttrValue read_attr(hid_t object, const std::string& name, const std::string& path);
std::int64_t read_int_attr(hid_t object, const std::string& name, const std::string& path);
std::string read_string_attr(hid_t object, const std::string& name, const std::string& path);
std::vector<std::pair<std::string, AttrValue>> read_all_attrs(hid_t object, const std::string& path);

// Link names in creation order where the group tracks it, else by name.
std::vector<std::string> link_names(hid_t group, const std::string& path);

std::int64_t dataset_length(hid_t dataset, const std::string& path);
bool dataset_is_integer(hid_t dataset, const std::string& path);
std::vector<double> read_dataset(hid_t dataset, const std::string& path);

}  // namespace flowbp::h5
