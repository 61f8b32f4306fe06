// What the commands that take an experiment and overrides (train, pretrain) share,
// kept apart from command_line.h, which the torch- and config-free report also uses.
#pragma once
#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "flowbp/experiment.h"

namespace flowbp::cli {

// The overrides of the command line in the order the loader applies them: --method,
// --preset, --device (each only where the command has it), then every --set; a key given
// twice is refused (require_distinct_keys). Throws ConfigError.
std::vector<Override> command_line_overrides(const boost::program_options::variables_map& vm);

// The same key twice on the command line is a mistake (which one was meant?), not "last
// wins". Throws ConfigError naming both.
void require_distinct_keys(const std::vector<Override>& overrides);

// A folder the command will write into must be one, or not exist yet (it is created).
// Throws ConfigError.
void require_directory_or_absent(const std::string& path, const std::string& what);

}  // namespace flowbp::cli
