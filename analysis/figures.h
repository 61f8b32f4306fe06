// The report's figures as PNG under <out>/figures: reward curves with a band over
// seeds, connector residuals r_0 and r_s with the reward on the same step axis (Fig. 7),
// a metric against each swept setting (Fig. 4/6), peak memory and step time against
// sampling.steps N, gradient norm on a log scale (zero norms counted and marked), and an
// eval metric over training (Fig. 8), and the gradient-fidelity cosine against step where
// runs ran the diagnostic. Bands of non-negative quantities stop at 0 (cosines' at ±1);
// legends stand outside the plot area.
#pragma once
#include <string>
#include <vector>

#include "report.h"

namespace flowbp::analysis {

// Appends the PNG paths written to report.figures and every figure skipped (with why) to report.notes.
void write_figures(Report& report, const std::string& figures_dir);

}  // namespace flowbp::analysis
