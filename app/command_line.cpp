#include "command_line.h"

#include <iostream>

#include "flowbp/did_you_mean.h"
#include "flowbp/files.h"
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
