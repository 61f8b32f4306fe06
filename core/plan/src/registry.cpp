#include "flowbp/registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "flowbp/did_you_mean.h"
#include "flowbp/files.h"
#include "flowbp/plugin_abi.h"
#include "flowbp/text.h"

#ifndef FLOWBP_BUILD_PLUGIN_DIR
#define FLOWBP_BUILD_PLUGIN_DIR ""
#endif
#ifndef FLOWBP_INSTALL_PLUGIN_DIR
#define FLOWBP_INSTALL_PLUGIN_DIR ""
#endif

namespace flowbp {

namespace {

bool is_shared_object_name(const std::string& name) {
  return name.size() > 3 && (name.compare(name.size() - 3, 3, ".so") == 0 || name.find(".so.") != std::string::npos);
}

bool is_plugin_file_name(const std::string& name) {
  const std::string prefix = "flowbp_method_", suffix = ".so";
  return name.size() > prefix.size() + suffix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

namespace {

// "key=value;…" → pairs, in order.
std::vector<std::pair<std::string, std::string>> tag_fields(const std::string& tag) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& field : split_nonempty(tag, ';')) {
    const auto eq = field.find('=');
    out.emplace_back(field.substr(0, eq), eq == std::string::npos ? "" : field.substr(eq + 1));
  }
  return out;
}

std::string field(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& key) {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return "(none)";
}

// The differences that matter between a plugin's ABI tag and ours ("" when none):
// everything but the compiler, which is reported alongside.
std::string abi_mismatch(const std::string& plugin_tag) {
  const auto ours = tag_fields(FLOWBP_ABI_TAG), theirs = tag_fields(plugin_tag);
  std::string out;
  std::vector<std::string> keys;
  for (const auto* fields : {&ours, &theirs})
    for (const auto& [k, v] : *fields)
      if (k != "compiler" && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  for (const auto& k : keys)
    if (field(ours, k) != field(theirs, k))
      out += (out.empty() ? "" : ", ") + k + "=" + field(theirs, k) + " (this flowbp: " + field(ours, k) + ")";
  return out;
}

}  // namespace

const Method& Registry::load_file(const std::string& path) {
  // RTLD_LOCAL keeps plugins from resolving each other's symbols; plugins are never
  // dlclose'd because their Method objects live as long as the process.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = ::dlerror();
    throw PluginError("cannot load plugin '" + path + "': " + (err ? err : "unknown dlopen error"));
  }
  using QueryFn = const FlowbpPluginInfo* (*)();
  auto query = reinterpret_cast<QueryFn>(::dlsym(handle, "flowbp_plugin_query"));
  if (!query) {
    // Plugins of ABI 1 and 2 exported their version by itself: name it.
    using OldAbiFn = int (*)();
    if (auto old = reinterpret_cast<OldAbiFn>(::dlsym(handle, "flowbp_plugin_abi_version")))
      throw PluginError("plugin '" + path + "' was built for plugin ABI version " + std::to_string(old()) +
                        ", but this flowbp uses version " + std::to_string(FLOWBP_PLUGIN_ABI_VERSION) +
                        "; rebuild it against the installed flowbp headers");
    throw PluginError("'" + path + "' is not a flowbp method plugin: it exports no flowbp_plugin_query()");
  }
  const FlowbpPluginInfo* info = query();
  if (!info) throw PluginError("plugin '" + path + "' returned no plugin description");
  if (info->abi_version != FLOWBP_PLUGIN_ABI_VERSION)
    throw PluginError("plugin '" + path + "' was built for plugin ABI version " + std::to_string(info->abi_version) +
                      ", but this flowbp uses version " + std::to_string(FLOWBP_PLUGIN_ABI_VERSION) +
                      "; rebuild it against the installed flowbp headers");
  if (info->struct_size < sizeof(FlowbpPluginInfo) || !info->abi_tag || !info->plugin_name || !info->factory)
    throw PluginError("plugin '" + path + "' has an incomplete plugin description; rebuild it against the installed "
                      "flowbp headers");
  const std::string mismatch = abi_mismatch(info->abi_tag);
  if (!mismatch.empty())
    throw PluginError("plugin '" + path + "' was built with another C++ ABI: " + mismatch + "; built by " +
                      field(tag_fields(info->abi_tag), "compiler") + ", this flowbp by " +
                      field(tag_fields(FLOWBP_ABI_TAG), "compiler") +
                      ". Rebuild it with the flags of `pkg-config --cflags flowbp`");
  const Method* method = info->factory();
  if (!method) throw PluginError("plugin '" + path + "' returned no method");
  const std::string name = method->info().name;
  if (name.empty()) throw PluginError("plugin '" + path + "' declares an empty method name");
  if (name != info->plugin_name)
    throw PluginError("plugin '" + path + "' registers as '" + info->plugin_name + "' but its method is named '" +
                      name + "'; FLOWBP_REGISTER_METHOD's name must be the method's");
  auto it = methods_.find(name);
  if (it != methods_.end()) {
    if (it->second.path == path) return *it->second.method;
    throw PluginError("method '" + name + "' is defined twice: by '" + it->second.path + "' and by '" + path + "'");
  }
  methods_[name] = LoadedMethod{method, path, info->plugin_version ? info->plugin_version : ""};
  return *method;
}

void Registry::load_directory(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw PluginError("plugin directory '" + dir + "' does not exist or cannot be read");
  std::vector<std::string> files, subdirs;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (is_plugin_file_name(name)) files.push_back(dir + "/" + name);
    else if (name != "." && name != ".." && is_directory(dir + "/" + name)) subdirs.push_back(dir + "/" + name);
    else if (is_shared_object_name(name))
      notes_.push_back("ignored " + dir + "/" + name + ": plugin files are named flowbp_method_<name>.so");
  }
  ::closedir(d);
  // One level down too: the build tree keeps each plugin in its own folder (plugins/<method>/).
  for (const auto& sub : subdirs) {
    if (DIR* s = ::opendir(sub.c_str())) {
      while (dirent* e = ::readdir(s))
        if (is_plugin_file_name(e->d_name)) files.push_back(sub + "/" + e->d_name);
      ::closedir(s);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (is_directory(f)) continue;
    // The first directory on the search path wins for a method name.
    Registry probe;
    const Method& m = probe.load_file(f);
    const std::string name = m.info().name;
    if (has(name) && methods_.at(name).path != f) {
      notes_.push_back("method '" + name + "' of " + methods_.at(name).path + " is used; " + f +
                       " defines it too and is ignored (the first directory on the plugin path wins)");
      continue;
    }
    load_file(f);
  }
}

std::vector<std::string> Registry::default_search_dirs(const std::vector<std::string>& extra_dirs) {
  std::vector<std::string> dirs = extra_dirs;
  if (const char* env = std::getenv("FLOWBP_PLUGIN_PATH"))
    for (auto& d : split_nonempty(env, ':')) dirs.push_back(d);
  for (const char* d : {FLOWBP_BUILD_PLUGIN_DIR, FLOWBP_INSTALL_PLUGIN_DIR})
    if (*d) dirs.emplace_back(d);
  return dirs;
}

void Registry::load_search_path(const std::vector<std::string>& extra_dirs) {
  for (const auto& d : extra_dirs) {
    if (is_regular_file(d))
      throw PluginError("--plugin-dir '" + d + "' is a file; give the folder that holds flowbp_method_<name>.so files");
    if (!is_directory(d)) throw PluginError("plugin directory '" + d + "' does not exist");
  }
  if (const char* env = std::getenv("FLOWBP_PLUGIN_PATH"))
    for (const auto& d : split_nonempty(env, ':'))
      if (!is_directory(d))
        throw PluginError("FLOWBP_PLUGIN_PATH names '" + d + "', which " +
                          (file_exists(d) ? "is not a directory" : "does not exist") +
                          "; it lists folders of flowbp_method_<name>.so files, separated by ':'");
  for (const auto& d : default_search_dirs(extra_dirs))
    if (is_directory(d)) load_directory(d);
  if (methods_.empty()) {
    std::string searched;
    for (const auto& d : default_search_dirs(extra_dirs)) searched += "\n  " + d;
    throw PluginError("no method plugins found; searched:" + searched +
                      "\nset FLOWBP_PLUGIN_PATH or pass --plugin-dir");
  }
}

const Method& Registry::get(const std::string& name) const {
  auto it = methods_.find(name);
  if (it == methods_.end())
    throw SettingError("method.name", "unknown method '" + abbreviated(name) + "'" + did_you_mean(name, names()) +
                       "; loaded methods: " + [&] {
                         std::string all;
                         for (const auto& n : names()) all += (all.empty() ? "" : ", ") + n;
                         return all;
                       }());
  return *it->second.method;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, loaded] : methods_) out.push_back(name);
  return out;
}

SettingValues resolve_method_params(const Method& method, const std::map<std::string, SettingValue>& given,
                                    int steps, double shift) {
  SettingValues values = resolve_settings(method.settings(), given, "method", "method '" + method.info().name + "'");
  method.validate(values, Schedule::make(steps, shift));
  return values;
}

Preset find_preset(const Method& method, const std::string& name) {
  const std::vector<Preset> presets = method.presets();
  std::vector<std::string> names;
  for (const auto& p : presets) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  const std::string owner = "method '" + method.info().name + "'";
  if (names.empty()) throw SettingError("method.preset", "method.preset: " + owner + " has no presets");
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  throw SettingError("method.preset", "method.preset: unknown preset '" + name + "' for " + owner +
                                          did_you_mean(name, names) + "; its presets: " + all);
}

std::map<std::string, SettingValue> with_preset(const Method& method, const std::string& preset,
                                                const std::map<std::string, SettingValue>& given) {
  if (preset.empty()) return given;
  std::map<std::string, SettingValue> out;
  for (const auto& [name, value] : find_preset(method, preset).values) out[name] = value;
  for (const auto& [name, value] : given) out[name] = value;
  return out;
}

SettingValues resolve_method_params(const Method& method, const std::string& preset,
                                    const std::map<std::string, SettingValue>& given, int steps, double shift) {
  return resolve_method_params(method, with_preset(method, preset, given), steps, shift);
}

std::string preset_values_text(const Preset& preset) {
  std::string out;
  for (const auto& [name, value] : preset.values) out += (out.empty() ? "" : ", ") + name + " = " + format_value(value);
  return out;
}

}  // namespace flowbp
