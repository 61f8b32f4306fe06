// How every command reads its options: one parse, and one way of saying what is wrong
// ("unknown option --jbos (did you mean '--jobs'?)"), so no command is less helpful
// than another.
#pragma once
#include <boost/program_options.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "flowbp/experiment.h"

namespace flowbp::cli {

// A usage mistake; the message is ready for "flowbp <command>: <message>".
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses `args` against the visible options (listed by --help and used for suggestions)
// and hidden ones (positionals, test hooks). Throws UsageError.
boost::program_options::variables_map parse_options(
    const Args& args, const boost::program_options::options_description& visible,
    const boost::program_options::options_description& hidden = boost::program_options::options_description(),
    const boost::program_options::positional_options_description& positional =
        boost::program_options::positional_options_description());

// Prints "flowbp <command>: <message>" and the pointer to --help on stderr; returns 2.
int usage_error(const std::string& command, const std::string& message);

// The same key twice on the command line is a mistake (which one was meant?), not "last
// wins". Throws ConfigError naming both.
void require_distinct_keys(const std::vector<Override>& overrides);

// A folder the command will write into must be one, or not exist yet (it is created).
// Throws ConfigError.
void require_directory_or_absent(const std::string& path, const std::string& what);

}  // namespace flowbp::cli
