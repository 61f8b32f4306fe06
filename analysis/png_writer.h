// A minimal PNG writer (8-bit grey or RGB, no interlace, filter 0, zlib-compressed):
// the report's sample grids are pictures the run logs hold as bytes, drawn without
// gnuplot or an image library.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowbp::analysis {

// 8-bit pixels, row-major, `channels` (1 = grey, 3 = RGB) bytes each.
struct Picture {
  int width = 0, height = 0, channels = 1;
  std::vector<std::uint8_t> pixels;
  Picture() = default;
  Picture(int w, int h, int c, std::uint8_t fill) : width(w), height(h), channels(c),
      pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * static_cast<std::size_t>(c), fill) {}
  std::uint8_t* at(int x, int y) {
    return pixels.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
                               static_cast<std::size_t>(channels);
  }
};

// Writes `picture` to `path`; throws std::runtime_error naming the path on failure.
void write_png(const std::string& path, const Picture& picture);

}  // namespace flowbp::analysis
