// How every command reads its options: one parse, and one way of saying what is wrong
// ("unknown option --jbos (did you mean '--jobs'?)"), so no command is less helpful
// than another.
#pragma once
#include <boost/program_options.hpp>

#include <stdexcept>
#include <string>

#include "commands.h"

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

}  // namespace flowbp::cli
