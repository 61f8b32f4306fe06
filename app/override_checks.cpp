#include "override_checks.h"

#include "flowbp/files.h"

namespace flowbp::cli {

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
