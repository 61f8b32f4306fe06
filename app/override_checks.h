// Checks shared by the commands that take an experiment and overrides (train, pretrain),
// kept apart from command_line.h, which the torch- and config-free report also uses.
#pragma once
#include <string>
#include <vector>

#include "flowbp/experiment.h"

namespace flowbp::cli {

// The same key twice on the command line is a mistake (which one was meant?), not "last
// wins". Throws ConfigError naming both.
void require_distinct_keys(const std::vector<Override>& overrides);

// A folder the command will write into must be one, or not exist yet (it is created).
// Throws ConfigError.
void require_directory_or_absent(const std::string& path, const std::string& what);

}  // namespace flowbp::cli
