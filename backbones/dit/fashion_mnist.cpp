#include "fashion_mnist.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sys/stat.h>

namespace flowbp {

namespace {

constexpr std::uint32_t kImageMagic = 2051, kLabelMagic = 2049;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw DataError("Fashion-MNIST: " + path + ": " + what + ". Install the data with `apt-get install " +
                  kFashionMnistPackage + "` (files under " + kFashionMnistDir + "), or set " + kDataDirKey +
                  " to a folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                  "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz");
}

// FNV-1a, streamed over everything decoded: the data set's fingerprint.
struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void add(const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  }
};

class GzReader {
 public:
  explicit GzReader(std::string path) : path_(std::move(path)) {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) fail(path_, std::string("missing (") + std::strerror(errno) + ")");
    if (S_ISDIR(st.st_mode)) fail(path_, "is a folder, not a file");
    file_ = ::gzopen(path_.c_str(), "rb");
    if (!file_) fail(path_, std::string("cannot open (") + std::strerror(errno ? errno : ENOMEM) + ")");
    ::gzbuffer(file_, 1 << 17);
  }
  ~GzReader() {
    if (file_) ::gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Exactly n bytes or a DataError saying what was being read.
  void read(void* dst, std::size_t n, const std::string& what) {
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
      const int got = ::gzread(file_, out + done, chunk);
      if (got < 0) fail(path_, "corrupt gzip data while reading " + what + " (zlib: " + zlib_error() + ")");
      if (got == 0) {
        const std::string z = zlib_error();
        fail(path_, "truncated: " + what + " needs " + std::to_string(n) + " bytes, the file ends after " +
                        std::to_string(done) + (z.empty() ? "" : " (zlib: " + z + ")"));
      }
      done += static_cast<std::size_t>(got);
    }
    fnv_.add(out, n);
  }

  std::uint32_t big_endian_u32(const std::string& what) {
    unsigned char b[4];
    read(b, 4, what);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  }

  // After the announced items: nothing more may follow.
  void expect_end(const std::string& items) {
    unsigned char extra[64];
    const int got = ::gzread(file_, extra, sizeof extra);
    if (got < 0) fail(path_, "corrupt gzip data after " + items + " (zlib: " + zlib_error() + ")");
    if (got > 0) fail(path_, "trailing bytes after the " + items + " its header announces (wrong count or a damaged file)");
  }

  const std::string& path() const { return path_; }
  std::uint64_t digest() const { return fnv_.h; }

 private:
  std::string zlib_error() {
    int code = Z_OK;
    const char* msg = ::gzerror(file_, &code);
    return code == Z_OK || !msg ? std::string() : std::string(msg);
  }
  std::string path_;
  gzFile file_ = nullptr;
  Fnv fnv_;
};

struct ImageHeader {
  std::int64_t count = 0, rows = 0, cols = 0;
};

ImageHeader read_image_header(GzReader& in, std::int64_t expected_count, std::int64_t rows, std::int64_t cols) {
  const std::uint32_t magic = in.big_endian_u32("the magic number");
  if (magic != kImageMagic)
    fail(in.path(), "wrong magic number " + std::to_string(magic) + " (expected " + std::to_string(kImageMagic) +
                        ", an IDX image file" + (magic == kLabelMagic ? "; this is a label file" : "") + ")");
  ImageHeader h;
  h.count = in.big_endian_u32("the image count");
  h.rows = in.big_endian_u32("the row count");
  h.cols = in.big_endian_u32("the column count");
  if (h.rows != rows || h.cols != cols)
    fail(in.path(), "images are " + std::to_string(h.rows) + "x" + std::to_string(h.cols) + ", expected " +
                        std::to_string(rows) + "x" + std::to_string(cols));
  if (expected_count >= 0 && h.count != expected_count)
    fail(in.path(), "holds " + std::to_string(h.count) + " images, expected " + std::to_string(expected_count));
  return h;
}

std::int64_t read_label_header(GzReader& in, std::int64_t expected_count) {
  const std::uint32_t magic = in.big_endian_u32("the magic number");
  if (magic != kLabelMagic)
    fail(in.path(), "wrong magic number " + std::to_string(magic) + " (expected " + std::to_string(kLabelMagic) +
                        ", an IDX label file" + (magic == kImageMagic ? "; this is an image file" : "") + ")");
  const std::int64_t count = in.big_endian_u32("the label count");
  if (expected_count >= 0 && count != expected_count)
    fail(in.path(), "holds " + std::to_string(count) + " labels, expected " + std::to_string(expected_count));
  return count;
}

IdxImages read_images(GzReader& in, std::int64_t expected_count, std::int64_t rows, std::int64_t cols) {
  const ImageHeader h = read_image_header(in, expected_count, rows, cols);
  IdxImages out;
  out.rows = h.rows;
  out.cols = h.cols;
  out.images = at::empty({h.count, h.rows, h.cols}, at::kByte);
  in.read(out.images.data_ptr<std::uint8_t>(), static_cast<std::size_t>(h.count * h.rows * h.cols),
          "the pixels of " + std::to_string(h.count) + " images");
  in.expect_end(std::to_string(h.count) + " images");
  return out;
}

at::Tensor read_labels(GzReader& in, std::int64_t expected_count, std::int64_t classes) {
  const std::int64_t count = read_label_header(in, expected_count);
  at::Tensor raw = at::empty({count}, at::kByte);
  auto* p = raw.data_ptr<std::uint8_t>();
  in.read(p, static_cast<std::size_t>(count), std::to_string(count) + " labels");
  in.expect_end(std::to_string(count) + " labels");
  for (std::int64_t i = 0; i < count; ++i)
    if (p[i] >= classes)
      fail(in.path(), "label " + std::to_string(p[i]) + " at index " + std::to_string(i) + " is outside [0, " +
                          std::to_string(classes) + ")");
  return raw.to(at::kLong);
}

at::Tensor to_unit_range(const at::Tensor& bytes) {
  return (bytes.to(at::kFloat) / 127.5 - 1.0).unsqueeze(1).contiguous();
}

void check_agree(const std::string& images_path, std::int64_t images, const std::string& labels_path,
                 std::int64_t labels) {
  if (images != labels)
    fail(labels_path, "holds " + std::to_string(labels) + " labels but " + images_path + " holds " +
                          std::to_string(images) + " images");
}

}  // namespace

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

FashionMnistFiles FashionMnistFiles::in(const std::string& dir) {
  const std::string d = dir.empty() ? std::string(".") : dir;
  return {d + "/train-images-idx3-ubyte.gz", d + "/train-labels-idx1-ubyte.gz", d + "/t10k-images-idx3-ubyte.gz",
          d + "/t10k-labels-idx1-ubyte.gz"};
}

IdxImages read_idx_images(const std::string& path, std::int64_t expected_count, std::int64_t rows, std::int64_t cols) {
  GzReader in(path);
  return read_images(in, expected_count, rows, cols);
}

at::Tensor read_idx_labels(const std::string& path, std::int64_t expected_count, std::int64_t classes) {
  GzReader in(path);
  return read_labels(in, expected_count, classes);
}

void check_fashion_mnist(const std::string& dir, FashionMnistCounts counts) {
  const FashionMnistFiles f = FashionMnistFiles::in(dir);
  std::int64_t train_images = 0, test_images = 0;
  {
    GzReader in(f.train_images);
    train_images = read_image_header(in, counts.train, 28, 28).count;
  }
  {
    GzReader in(f.train_labels);
    check_agree(f.train_images, train_images, f.train_labels, read_label_header(in, counts.train));
  }
  {
    GzReader in(f.test_images);
    test_images = read_image_header(in, counts.test, 28, 28).count;
  }
  {
    GzReader in(f.test_labels);
    check_agree(f.test_images, test_images, f.test_labels, read_label_header(in, counts.test));
  }
}

ImageDataset load_fashion_mnist(const std::string& dir, FashionMnistCounts counts) {
  const FashionMnistFiles f = FashionMnistFiles::in(dir);
  ImageDataset d;
  d.classes = kFashionMnistClasses;
  d.source = dir;
  std::uint64_t digest = 0;
  auto mix = [&digest](std::uint64_t h) { digest = digest * 1099511628211ull ^ h; };
  IdxImages train, test;
  {
    GzReader in(f.train_images);
    train = read_images(in, counts.train, 28, 28);
    mix(in.digest());
  }
  {
    GzReader in(f.train_labels);
    d.train_labels = read_labels(in, counts.train, d.classes);
    mix(in.digest());
  }
  check_agree(f.train_images, train.images.size(0), f.train_labels, d.train_labels.size(0));
  {
    GzReader in(f.test_images);
    test = read_images(in, counts.test, 28, 28);
    mix(in.digest());
  }
  {
    GzReader in(f.test_labels);
    d.test_labels = read_labels(in, counts.test, d.classes);
    mix(in.digest());
  }
  check_agree(f.test_images, test.images.size(0), f.test_labels, d.test_labels.size(0));
  d.train_images = to_unit_range(train.images);
  d.test_images = to_unit_range(test.images);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
  d.fingerprint = hex;
  return d;
}

}  // namespace flowbp
