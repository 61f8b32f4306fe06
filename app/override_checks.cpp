#include "override_checks.h"

#include "flowbp/files.h"

namespace flowbp::cli {

std::vector<Override> command_line_overrides(const boost::program_options::variables_map& vm) {
  std::vector<Override> overrides;
  const auto text_option = [&](const char* option, const char* key) {
    if (vm.count(option))
      overrides.push_back(
          parse_override(std::string(key) + "=\"" + vm[option].as<std::string>() + "\"", std::string("--") + option));
  };
  text_option("method", "method.name");
  text_option("preset", "method.preset");
  text_option("device", "train.device");
  if (vm.count("set"))
    for (const auto& s : vm["set"].as<std::vector<std::string>>()) overrides.push_back(parse_override(s, "--set"));
  require_distinct_keys(overrides);
  return overrides;
}

void require_directory_or_absent(const std::string& path, const std::string& what) {
  if (file_exists(path) && !is_directory(path))
    throw ConfigError(what + " " + path + ": exists and is not a directory");
}

void require_distinct_keys(const std::vector<Override>& overrides) {
  for (std::size_t i = 0; i < overrides.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (overrides[i].key == overrides[j].key)
        throw ConfigError(overrides[i].origin + ": " + overrides[i].key + " is given twice (" + overrides[j].origin +
                          " " + overrides[j].key + "=" + overrides[j].value_text + ", then " + overrides[i].origin +
                          " " + overrides[i].key + "=" + overrides[i].value_text + "); give it once");
}

}  // namespace flowbp::cli
