#include "command_line.h"

#include <iostream>

#include "flowbp/did_you_mean.h"
#include "flowbp/text.h"

namespace po = boost::program_options;

namespace flowbp::cli {

po::variables_map parse_options(const Args& args, const po::options_description& visible,
                                const po::options_description& hidden, const po::positional_options_description& positional) {
  po::options_description all;
  all.add(visible).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    std::vector<std::string> names;
    for (const auto& opt : visible.options()) names.push_back("--" + opt->long_name());
    throw UsageError("unknown option " + abbreviated(e.get_option_name()) + did_you_mean(e.get_option_name(), names));
  } catch (const po::too_many_positional_options_error&) {
    throw UsageError("too many arguments: " + std::to_string(args.size()) + " given; see the usage line");
  } catch (const po::error& e) {
    throw UsageError(abbreviated(e.what(), 200));
  }
  return vm;
}

int usage_error(const std::string& command, const std::string& message) {
  std::cerr << "flowbp " << command << ": " << message << "\n(flowbp " << command << " --help lists the options)\n";
  return 2;
}

}  // namespace flowbp::cli
