#include "run_log_reader.h"

#include <hdf5.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <sys/stat.h>

namespace flowbp::analysis {

namespace {

// Raised inside the reader only; read_run_log turns it into an Unreadable record.
struct LogProblem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Owns one HDF5 identifier; the close function depends on its kind.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// The innermost message on HDF5's error stack ("truncated file: eof = ..."),
// which says more than "could not open".
std::string hdf5_error_detail() {
  std::string detail;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::string*>(data);
        if (e->desc && *e->desc) *out = e->desc;  // keep the last (innermost) description
        (void)n;
        return 0;
      },
      &detail);
  H5Eclear2(H5E_DEFAULT);
  return detail;
}

std::string read_string_attr(hid_t attr, hid_t ftype) {
  if (H5Tis_variable_str(ftype) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(ftype));
    char* value = nullptr;
    if (H5Aread(attr, mem.get(), &value) < 0) throw LogProblem("cannot read string");
    std::string out = value ? value : "";
    if (value) H5free_memory(value);
    return out;
  }
  const std::size_t size = H5Tget_size(ftype);
  std::string buf(size + 1, '\0');
  Handle mem(H5Tcopy(ftype), H5Tclose);
  if (H5Aread(attr, mem.get(), buf.data()) < 0) throw LogProblem("cannot read string");
  buf.resize(std::min(buf.find('\0'), size));
  return buf;
}

std::optional<ConfigValue> read_attr(hid_t loc, const std::string& name, const std::string& where) {
  if (H5Aexists(loc, name.c_str()) <= 0) return std::nullopt;
  Handle attr(H5Aopen(loc, name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) throw LogProblem("cannot open attribute " + where + name + ": " + hdf5_error_detail());
  Handle ftype(H5Aget_type(attr.get()), H5Tclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    throw LogProblem("attribute " + where + name + " is not a single value");
  ConfigValue v;
  switch (H5Tget_class(ftype.get())) {
    case H5T_INTEGER:
      // LOG_FORMAT: bools are int8, integers int64.
      if (H5Tget_size(ftype.get()) == 1) {
        signed char b = 0;
        if (H5Aread(attr.get(), H5T_NATIVE_SCHAR, &b) < 0) throw LogProblem("cannot read attribute " + where + name);
        v.kind = ConfigValue::Kind::Bool;
        v.b = b != 0;
      } else {
        long long i = 0;
        if (H5Aread(attr.get(), H5T_NATIVE_LLONG, &i) < 0) throw LogProblem("cannot read attribute " + where + name);
        v.kind = ConfigValue::Kind::Int;
        v.i = i;
      }
      break;
    case H5T_ENUM: {  // h5py writes numpy bools as a one-byte enum, which HDF5 won't convert to an integer
      signed char b = 0;
      if (H5Tget_size(ftype.get()) != 1 || H5Aread(attr.get(), ftype.get(), &b) < 0)
        throw LogProblem("cannot read attribute " + where + name + " (enum other than a bool)");
      v.kind = ConfigValue::Kind::Bool;
      v.b = b != 0;
      break;
    }
    case H5T_FLOAT: {
      double f = 0;
      if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &f) < 0) throw LogProblem("cannot read attribute " + where + name);
      v.kind = ConfigValue::Kind::Float;
      v.f = f;
      break;
    }
    case H5T_STRING:
      try {
        v.s = read_string_attr(attr.get(), ftype.get());
      } catch (const LogProblem&) {
        throw LogProblem("cannot read attribute " + where + name + ": " + hdf5_error_detail());
      }
      v.kind = ConfigValue::Kind::String;
      break;
    default:
      throw LogProblem("attribute " + where + name + " has an unsupported type");
  }
  return v;
}

ConfigValue required_attr(hid_t loc, const std::string& name, const std::string& where) {
  auto v = read_attr(loc, name, where);
  if (!v) throw LogProblem("missing attribute " + where + name);
  return *v;
}

std::int64_t int_attr(hid_t loc, const std::string& name, const std::string& where, std::int64_t fallback) {
  auto v = read_attr(loc, name, where);
  if (!v) return fallback;
  if (v->kind == ConfigValue::Kind::Int) return v->i;
  if (v->kind == ConfigValue::Kind::Float) return static_cast<std::int64_t>(v->f);
  throw LogProblem("attribute " + where + name + " should be an integer, found '" + v->text() + "'");
}

std::string string_attr(hid_t loc, const std::string& name, const std::string& where, bool required) {
  auto v = read_attr(loc, name, where);
  if (!v) {
    if (required) throw LogProblem("missing attribute " + where + name);
    return "";
  }
  return v->text();
}

std::vector<std::string> attribute_names(hid_t loc) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  H5Aiterate2(
      loc, H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

std::vector<std::string> link_names(hid_t group) {
  std::vector<std::string> names;
  hsize_t idx = 0;
#if H5_VERSION_GE(1, 12, 0)
  H5Literate2(group, H5_INDEX_NAME, H5_ITER_INC, &idx,
              [](hid_t, const char* name, const H5L_info2_t*, void* data) -> herr_t {
                static_cast<std::vector<std::string>*>(data)->emplace_back(name);
                return 0;
              },
              &names);
#else
  H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx,
             [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
               static_cast<std::vector<std::string>*>(data)->emplace_back(name);
               return 0;
             },
             &names);
#endif
  return names;
}

Handle open_group(hid_t file, const std::string& name) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) throw LogProblem("missing group " + name);
  const hid_t g = H5Gopen2(file, name.c_str(), H5P_DEFAULT);
  if (g < 0) throw LogProblem("cannot open group " + name + ": " + hdf5_error_detail());
  return Handle(g, H5Gclose);
}

// Every dataset of a column group as doubles (int64 columns convert exactly up to 2^53).
Columns read_columns(hid_t file, const std::string& group_name, std::set<std::string>* lower_is_better) {
  Handle group = open_group(file, group_name);
  Columns columns;
  for (const auto& name : link_names(group.get())) {
    const std::string where = group_name + "/" + name;
    Handle ds(H5Dopen2(group.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) throw LogProblem("cannot open dataset " + where + ": " + hdf5_error_detail());
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    if (H5Sget_simple_extent_ndims(space.get()) != 1) throw LogProblem("dataset " + where + " is not 1-D");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    std::vector<double> values(static_cast<std::size_t>(n));
    if (n > 0 && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
      throw LogProblem("cannot read dataset " + where + ": " + hdf5_error_detail());
    if (lower_is_better) {
      auto flag = read_attr(ds.get(), "lower_is_better", where + "@");
      if (flag && ((flag->numeric() && flag->number() != 0) || (flag->kind == ConfigValue::Kind::Bool && flag->b)))
        lower_is_better->insert(name);
    }
    columns.emplace(name, std::move(values));
  }
  return columns;
}

void require_columns(const Columns& columns, const std::string& group, const std::vector<std::string>& names) {
  for (const auto& name : names)
    if (!columns.count(name)) throw LogProblem("missing column " + group + "/" + name);
  std::size_t length = columns.empty() ? 0 : columns.begin()->second.size();
  for (const auto& [name, values] : columns)
    if (values.size() != length)
      throw LogProblem("columns of " + group + " have different lengths (" + columns.begin()->first + ": " +
                       std::to_string(length) + ", " + name + ": " + std::to_string(values.size()) + ")");
}

void read_into(hid_t file, RunRecord& run) {
  run.schema_version = int_attr(file, "schema_version", "/@", -1);
  if (run.schema_version == -1)
    throw LogProblem("no schema_version attribute at the root (not a flowbp run log?)");
  if (run.schema_version != kSupportedSchemaVersion)
    throw LogProblem("schema_version " + std::to_string(run.schema_version) + ", this reader understands " +
                     std::to_string(kSupportedSchemaVersion));
  run.method = string_attr(file, "method", "/@", true);
  run.run_name = string_attr(file, "run_name", "/@", false);
  run.config_id = string_attr(file, "config_id", "/@", false);
  run.backbone_cache_key = string_attr(file, "backbone_cache_key", "/@", false);
  run.seed = int_attr(file, "seed", "/@", -1);

  {
    Handle status = open_group(file, "/status");
    const std::string state = string_attr(status.get(), "state", "/status@", true);
    run.reason = string_attr(status.get(), "reason", "/status@", false);
    run.failed_step = int_attr(status.get(), "failed_step", "/status@", -1);
    run.steps_done = int_attr(status.get(), "steps_done", "/status@", 0);
    run.steps_total = int_attr(status.get(), "steps_total", "/status@", 0);
    if (state == "done") run.state = RunState::Done;
    else if (state == "failed") run.state = RunState::Failed;
    else if (state == "running") run.state = RunState::Running;
    else throw LogProblem("attribute /status@state is '" + state + "', expected running, done or failed");
  }
  {
    Handle config = open_group(file, "/config");
    for (const auto& key : attribute_names(config.get())) run.config[key] = required_attr(config.get(), key, "/config@");
  }
  if (run.state != RunState::Done) return;

  run.steps = read_columns(file, "/steps", nullptr);
  require_columns(run.steps, "/steps", {"step"});
  run.eval = read_columns(file, "/eval", &run.lower_is_better);
  require_columns(run.eval, "/eval", {"step", "is_base"});
  if (run.metric_names().empty()) throw LogProblem("/eval has no metric columns");
  if (run.final_eval_row() < 0) throw LogProblem("/eval has no EMA row (is_base = 0) although the run is done");
}

}  // namespace

RunRecord read_run_log(const std::string& path) {
  // The reader reports every failure itself; HDF5's own stack dump would only confuse.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  RunRecord run;
  run.path = path;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    run.problem = "not a readable file";
    return run;
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    run.problem = "not an HDF5 file (corrupt, or truncated before its superblock; " + std::to_string(st.st_size) +
                  " bytes)";
    return run;
  }
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
#if H5_VERSION_GE(1, 10, 7)
  // A trainer in another process may hold the file open for writing: reading must not need its lock.
  H5Pset_file_locking(fapl.get(), false, true);
#endif
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  std::string detail = id < 0 ? hdf5_error_detail() : "";
  // A file already open in this process must be reopened with its own locking settings.
  if (id < 0 && detail.find("locking") != std::string::npos) {
    id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) detail = hdf5_error_detail();
  }
  Handle file(id, H5Fclose);
  if (!file.ok()) {
    run.problem = "cannot open as HDF5 (" + (detail.empty() ? std::string("truncated or corrupt") : detail) + ")";
    return run;
  }
  try {
    read_into(file.get(), run);
  } catch (const LogProblem& e) {
    run.state = RunState::Unreadable;
    run.problem = e.what();
    run.steps.clear();
    run.eval.clear();
  }
  return run;
}

}  // namespace flowbp::analysis
