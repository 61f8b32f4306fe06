// Number formatting shared by the Markdown and CSV writers.
#pragma once
#include <string>

namespace flowbp::analysis {

std::string fmt_num(double v);     // 4 significant digits for tables: "0.8400" style is noise
std::string fmt_signed(double v);  // "+0.34", "-0.012"
std::string fmt_exact(double v);   // round-trips (CSV): "%.17g", "nan"

}  // namespace flowbp::analysis
