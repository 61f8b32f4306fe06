// A 5×7 pixel font (capitals, digits and the punctuation of run labels) for the
// captions of the report's sample grids: PNGs drawn without a font library.
#pragma once
#include <string>

#include "png_writer.h"

namespace flowbp::analysis {

constexpr int kGlyphWidth = 5, kGlyphHeight = 7, kGlyphAdvance = 6;

// Draws `text` with its top-left corner at (x, y), each font pixel as a scale × scale
// square of `ink`; lowercase letters are drawn as capitals, characters without a glyph
// as a blank. Pixels outside the picture are skipped.
void draw_text(Picture& picture, int x, int y, const std::string& text, int scale, std::uint8_t ink);

// Width in pixels of `text` drawn at `scale`.
int text_width(const std::string& text, int scale);

}  // namespace flowbp::analysis
