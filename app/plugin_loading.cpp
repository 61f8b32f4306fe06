#include "plugin_loading.h"

#include <cstdio>

namespace flowbp::cli {

void load_method_plugins(Registry& registry, const std::vector<std::string>& extra_dirs, const std::string& command) {
  registry.load_search_path(extra_dirs);
  for (const auto& note : registry.notes()) std::fprintf(stderr, "flowbp %s: note: %s\n", command.c_str(), note.c_str());
}

}  // namespace flowbp::cli
