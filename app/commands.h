// Every `flowbp <command>` entry point. Each is implemented by the library that
// owns the work (core, train, runner, analysis, bench) and receives the
// arguments after the command name.
#pragma once
#include <string>
#include <vector>

namespace flowbp::cli {

using Args = std::vector<std::string>;

int methods(const Args& args);  // app/cmd_methods.cpp
int train(const Args& args);    // train/src/cmd_train.cpp
int sweep(const Args& args);    // runner/cmd_sweep.cpp
int report(const Args& args);   // analysis/cmd_report.cpp
int bench(const Args& args);    // bench/cmd_bench.cpp

}  // namespace flowbp::cli
