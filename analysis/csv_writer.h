// The report's tables as CSV (long format: one row per table cell), for pandas.
#pragma once
#include <string>
#include <vector>

#include "report.h"

namespace flowbp::analysis {

// Writes <dir>/main.csv, <dir>/ablation.csv (when there are ablations) and
// <dir>/status.csv; returns the paths written. Throws std::runtime_error on I/O failure.
std::vector<std::string> write_csv_tables(const Report& report, const std::string& dir);

}  // namespace flowbp::analysis
