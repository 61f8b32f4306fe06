// How every command loads the method plugins: the search path, and what the loader
// noticed (a skipped file, a method defined twice) told on stderr.
#pragma once
#include <string>
#include <vector>

#include "flowbp/registry.h"

namespace flowbp::cli {

// Throws PluginError as Registry::load_search_path does.
void load_method_plugins(Registry& registry, const std::vector<std::string>& extra_dirs, const std::string& command);

}  // namespace flowbp::cli
