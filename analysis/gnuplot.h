// Renders a gnuplot script to PNG with the pngcairo terminal. gnuplot-nox has
// pngcairo, so no display and no Python stack are needed.
#pragma once
#include <string>
#include <vector>

namespace flowbp::analysis {

// A single-quoted gnuplot string literal (quotes doubled; no escapes are interpreted).
std::string gnuplot_quote(const std::string& s);

// A string expression of several lines: 'first'."\n".'second' (a title too long for one line).
std::string gnuplot_lines(const std::vector<std::string>& lines);

// The preamble every figure starts with: terminal, size, output file, plain-text labels.
std::string gnuplot_preamble(const std::string& png_path, int width, int height);

// Writes `script` to script_path and runs `gnuplot script_path` (the program named by
// $FLOWBP_GNUPLOT, else gnuplot on PATH), its output into script_path + ".log".
// Returns "" on success, else why it failed (gnuplot missing, its first error line, no PNG).
std::string run_gnuplot(const std::string& script, const std::string& script_path, const std::string& png_path);

}  // namespace flowbp::analysis
