// Every `flowbp <command>` entry point: app/cmd_<command>.cpp parses the options and
// calls the library that owns the work (train, runner, analysis, bench, the
// registries); each receives the arguments after the command name.
#pragma once
#include <string>
#include <vector>

namespace flowbp::cli {

using Args = std::vector<std::string>;

int methods(const Args& args);    // app/cmd_methods.cpp
int backbones(const Args& args);  // app/cmd_kinds.cpp
int rewards(const Args& args);    // app/cmd_kinds.cpp
int pretrain(const Args& args);   // app/cmd_pretrain.cpp
int train(const Args& args);      // app/cmd_train.cpp
int sweep(const Args& args);      // app/cmd_sweep.cpp
int report(const Args& args);     // app/cmd_report.cpp
int bench(const Args& args);      // app/cmd_bench.cpp

}  // namespace flowbp::cli
