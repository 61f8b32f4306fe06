// Finds, loads and checks method plugins; the one place that calls dlopen.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "flowbp/method.h"

namespace flowbp {

struct PluginError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct LoadedMethod {
  const Method* method = nullptr;
  std::string path;     // the shared module it came from
  std::string version;  // the plugin's own version
};

class Registry {
 public:
  // Loads one shared module; throws PluginError for a missing file, a library that
  // is not a plugin, another plugin ABI version or C++ ABI tag (saying which part
  // differs), a name that is not its method's, or a duplicate method name.
  const Method& load_file(const std::string& path);
  // Loads every flowbp_method_*.so in a directory; throws PluginError if it is missing.
  void load_directory(const std::string& dir);
  // The default search path: --plugin-dir entries, then FLOWBP_PLUGIN_PATH, the
  // build tree's plugin folder, and the install folder. A --plugin-dir or
  // FLOWBP_PLUGIN_PATH entry that is not a directory is an error.
  void load_search_path(const std::vector<std::string>& extra_dirs = {});

  // Throws SettingError with "did you mean" for an unknown name.
  const Method& get(const std::string& name) const;
  bool has(const std::string& name) const { return methods_.count(name) != 0; }
  std::vector<std::string> names() const;
  const std::map<std::string, LoadedMethod>& all() const { return methods_; }

  static std::vector<std::string> default_search_dirs(const std::vector<std::string>& extra_dirs);

  // What loading noticed and a user should hear: shared objects skipped for their name,
  // a method defined in two places (the first on the path wins).
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::map<std::string, LoadedMethod> methods_;
  std::vector<std::string> notes_;
};

// Resolves a method's settings: defaults, names, types, ranges and the checks against
// the run's time grid (N steps, schedule shift).
SettingValues resolve_method_params(const Method& method, const std::map<std::string, SettingValue>& given,
                                    int steps, double shift = 1.0);

// The method's preset named `name`; SettingError keyed "method.preset" (with "did you
// mean" and the method's preset names) when it has none of that name.
Preset find_preset(const Method& method, const std::string& name);
// The settings a run gets from the preset `preset` ("" = none) and the settings given
// explicitly: the preset's values, each replaced by a given one of the same name.
std::map<std::string, SettingValue> with_preset(const Method& method, const std::string& preset,
                                                const std::map<std::string, SettingValue>& given);
// As resolve_method_params, the preset's values under the given ones.
SettingValues resolve_method_params(const Method& method, const std::string& preset,
                                    const std::map<std::string, SettingValue>& given, int steps, double shift = 1.0);
// "K = 5, beta = 0.5" (TOML spellings, the preset's order): a preset's values as one line.
std::string preset_values_text(const Preset& preset);

}  // namespace flowbp
