// The report's sample grids: for each backbone, one PNG holding the base model's grid
// and each Table 2 row's final EMA grid, all drawn from the same noise for the same
// conditions (the logs' /samples, docs/LOG_FORMAT.md), each panel captioned.
#pragma once
#include <string>
#include <vector>

#include "report.h"

namespace flowbp::analysis {

// Writes <figures_dir>/samples.png (samples_<b>.png per backbone when the report has
// several) for every backbone whose runs logged sample grids; appends the paths to
// report.figures and every grid left out (with why) to report.notes.
std::vector<SampleFigure> write_sample_grids(Report& report, const std::string& figures_dir);

}  // namespace flowbp::analysis
