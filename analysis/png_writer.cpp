#include "png_writer.h"

#include <zlib.h>

#include <fstream>
#include <stdexcept>

namespace flowbp::analysis {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

// length, type, data, CRC over type and data.
void chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put_u32(out, static_cast<std::uint32_t>(
                   crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

void write_png(const std::string& path, const Picture& p) {
  if (p.width <= 0 || p.height <= 0 || (p.channels != 1 && p.channels != 3) ||
      p.pixels.size() != static_cast<std::size_t>(p.width) * static_cast<std::size_t>(p.height) *
                             static_cast<std::size_t>(p.channels))
    throw std::invalid_argument(path + ": a PNG needs a non-empty grey or RGB picture");
  std::string ihdr;
  put_u32(ihdr, static_cast<std::uint32_t>(p.width));
  put_u32(ihdr, static_cast<std::uint32_t>(p.height));
  ihdr += static_cast<char>(8);                         // bit depth
  ihdr += static_cast<char>(p.channels == 1 ? 0 : 2);  // colour type: grey or RGB
  ihdr += std::string(3, '\0');                         // deflate, filter set 0, no interlace
  // Each scanline starts with its filter byte (0: none).
  const std::size_t line = static_cast<std::size_t>(p.width) * static_cast<std::size_t>(p.channels);
  std::string raw;
  raw.reserve((line + 1) * static_cast<std::size_t>(p.height));
  for (int y = 0; y < p.height; ++y) {
    raw += '\0';
    raw.append(reinterpret_cast<const char*>(p.pixels.data()) + static_cast<std::size_t>(y) * line, line);
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), 9) != Z_OK)
    throw std::runtime_error(path + ": zlib could not compress the picture");
  packed.resize(size);
  std::string file = "\x89PNG\r\n\x1a\n";
  chunk(file, "IHDR", ihdr);
  chunk(file, "IDAT", packed);
  chunk(file, "IEND", "");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  out.close();
  if (!out) throw std::runtime_error(path + ": cannot write the PNG");
}

}  // namespace flowbp::analysis
