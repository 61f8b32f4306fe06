// The test logs written once per test process by make_logs.py (real HDF5 files).
#pragma once
#include <string>

namespace flowbp::analysis::test {

// Directory holding main/, ablation/ and memory/ (see make_logs.py).
const std::string& fixture_logs();
// A fresh, empty directory under the test work area.
std::string fresh_dir(const std::string& name);
// Runs a command through the shell; returns its exit status.
int run_shell(const std::string& command);
std::string python();
std::string tests_source_dir();

}  // namespace flowbp::analysis::test
