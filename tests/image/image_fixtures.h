// What the image tests share: a synthetic labelled data set (one bar per class),
// IDX .gz files written with zlib, temporary folders, file damage.
#pragma once
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "flowbp/files.h"  // file_exists(), read_file()
#include "flowbp/image_dataset.h"
#include "temp_dir.h"  // temp_dir()

namespace flowbp::testing {

// Class k is a bright horizontal bar of height 4 at rows 2 + 6k (k < 4) or a vertical
// bar (k ≥ 4) on a dark background, plus noise: learnable in a few dozen steps.
inline ImageDataset synthetic_dataset(std::int64_t classes, std::int64_t n_train, std::int64_t n_test,
                                      std::uint64_t seed = 5) {
  at::Tensor templates = at::full({classes, 1, 28, 28}, -1.0f);
  for (std::int64_t k = 0; k < classes; ++k) {
    const std::int64_t row = 2 + 6 * (k % 4);
    if (k < 4)
      templates[k].narrow(1, row, 4).fill_(1.0f);
    else
      templates[k].narrow(2, row, 4).fill_(1.0f);
  }
  at::Generator gen = at::detail::createCPUGenerator(seed);
  auto make = [&](std::int64_t n, at::Tensor& images, at::Tensor& labels) {
    labels = at::randint(classes, {n}, gen, at::kLong);
    images = (templates.index_select(0, labels) + 0.15 * at::randn({n, 1, 28, 28}, gen, at::kFloat)).clamp(-1, 1);
  };
  ImageDataset d;
  make(n_train, d.train_images, d.train_labels);
  make(n_test, d.test_images, d.test_labels);
  d.classes = classes;
  d.source = "synthetic bars";
  d.fingerprint = "synthetic-" + std::to_string(classes) + "-" + std::to_string(n_train) + "-" +
                  std::to_string(n_test) + "-" + std::to_string(seed);
  return d;
}

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

inline void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = ::gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  if (!bytes.empty()) ::gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  ::gzclose(f);
}

// An IDX image file: magic, count, rows, cols, then `pixels` (count·rows·cols bytes
// unless a test wants it otherwise).
inline std::string idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const std::string& pixels,
                              std::uint32_t magic = 2051) {
  std::string out;
  put_u32(out, magic);
  put_u32(out, count);
  put_u32(out, rows);
  put_u32(out, cols);
  return out + pixels;
}

inline std::string idx_labels(std::uint32_t count, const std::string& labels, std::uint32_t magic = 2049) {
  std::string out;
  put_u32(out, magic);
  put_u32(out, count);
  return out + labels;
}

// Pixel i of image k is (7k + i) mod 256; label k is k mod classes.
inline std::string pixel_bytes(std::uint32_t count, std::uint32_t size = 28 * 28) {
  std::string p(static_cast<std::size_t>(count) * size, '\0');
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<char>((7 * (i / size) + i % size) % 256);
  return p;
}

inline std::string label_bytes(std::uint32_t count, std::uint32_t classes = 10) {
  std::string l(count, '\0');
  for (std::uint32_t i = 0; i < count; ++i) l[i] = static_cast<char>(i % classes);
  return l;
}

// A complete Fashion-MNIST-shaped folder with n_train / n_test items.
inline std::string synthetic_idx_dir(std::uint32_t n_train, std::uint32_t n_test) {
  const std::string dir = temp_dir("idx");
  write_gz(dir + "/train-images-idx3-ubyte.gz", idx_images(n_train, 28, 28, pixel_bytes(n_train)));
  write_gz(dir + "/train-labels-idx1-ubyte.gz", idx_labels(n_train, label_bytes(n_train)));
  write_gz(dir + "/t10k-images-idx3-ubyte.gz", idx_images(n_test, 28, 28, pixel_bytes(n_test)));
  write_gz(dir + "/t10k-labels-idx1-ubyte.gz", idx_labels(n_test, label_bytes(n_test)));
  return dir;
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// XOR one byte `from_end` bytes before the end of the file.
inline void flip_byte(const std::string& path, std::size_t from_end) {
  std::string bytes = read_file(path);
  bytes[bytes.size() - from_end] = static_cast<char>(bytes[bytes.size() - from_end] ^ 0x5a);
  write_file(path, bytes);
}

inline void truncate_file(const std::string& path, std::size_t keep) {
  write_file(path, read_file(path).substr(0, keep));
}

}  // namespace flowbp::testing
