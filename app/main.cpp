#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "flowbp/blas_kernel.h"
#include "flowbp/did_you_mean.h"
#include "flowbp/version.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const flowbp::cli::Args&);
  bool computes = false;  // runs models (itself or in child runs): needs the right BLAS kernel
};

const Command kCommands[] = {
    {"methods", "list the loaded method plugins as the paper's Table 1", flowbp::cli::methods, false},
    {"backbones", "list the backbone kinds and their settings", flowbp::cli::backbones, false},
    {"rewards", "list the reward kinds and their settings", flowbp::cli::rewards, false},
    {"pretrain", "build (or find, verified) the pre-trained models an experiment needs", flowbp::cli::pretrain, true},
    {"train", "run one experiment (one method, one seed) and log it to HDF5", flowbp::cli::train, true},
    {"sweep", "expand a TOML sweep into runs and run them robustly", flowbp::cli::sweep, true},
    {"report", "tables and figures from a directory of run logs", flowbp::cli::report, false},
    {"bench", "per-phase timings and memory against the model-only bound", flowbp::cli::bench, true},
};

void usage(std::FILE* out) {
  std::fprintf(out, "flowbp %s: direct reward backpropagation for flow matching\n\n", flowbp::version());
  std::fprintf(out, "usage: flowbp <command> [options]    (flowbp <command> --help for its options)\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("flowbp %s\n", flowbp::version());
    return 0;
  }
  const std::string name = argv[1];
  const flowbp::cli::Args args(argv + 2, argv + argc);
  std::vector<std::string> names;
  for (const auto& c : kCommands) {
    names.emplace_back(c.name);
    if (name != c.name) continue;
    // First, before any thread or child: may restart this process with OPENBLAS_CORETYPE
    // set, which the sweep's runs then inherit (flowbp/blas_kernel.h).
    if (c.computes) flowbp::fix_blas_kernel(argv);
    try {
      return c.run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "flowbp %s: error: %s\n", c.name, e.what());
      return 2;
    }
  }
  std::fprintf(stderr, "flowbp: unknown command '%s'%s\n", name.c_str(), flowbp::did_you_mean(name, names).c_str());
  usage(stderr);
  return 2;
}
