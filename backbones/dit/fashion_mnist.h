// Fashion-MNIST from Debian's dataset-fashion-mnist: four gzip-compressed IDX files
// (train/t10k images and labels) read with zlib and checked (magic numbers, 28×28,
// counts, label range, images/labels agreement, truncation, trailing bytes).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowbp/image_dataset.h"

namespace flowbp {

// Missing or corrupt data. The message names the file, what is wrong, the Debian
// package that provides the files and the setting that points elsewhere.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kFashionMnistPackage = "dataset-fashion-mnist";
constexpr const char* kDataDirKey = "backbone.data_dir";
constexpr std::int64_t kFashionMnistTrain = 60000, kFashionMnistTest = 10000, kFashionMnistClasses = 10;

// "T-shirt/top", "Trouser", …, "Ankle boot" (label order).
const std::vector<std::string>& fashion_mnist_class_names();

// The four file names inside a Fashion-MNIST folder.
struct FashionMnistFiles {
  std::string train_images, train_labels, test_images, test_labels;
  static FashionMnistFiles in(const std::string& dir);
};

// Counts the loader insists on; −1 accepts any (synthetic files in tests).
struct FashionMnistCounts {
  std::int64_t train = kFashionMnistTrain, test = kFashionMnistTest;
};

// Reads the headers of the four files only (milliseconds): every problem a config
// check can find before anything runs. Throws DataError.
void check_fashion_mnist(const std::string& dir = kFashionMnistDir, FashionMnistCounts counts = {});

// Reads and checks the four files. Images become float32 [n, 1, 28, 28] in [-1, 1]
// (pixel/127.5 − 1), labels int64 in [0, 10). Throws DataError.
ImageDataset load_fashion_mnist(const std::string& dir = kFashionMnistDir, FashionMnistCounts counts = {});

// One IDX file pair, for any folder layout: images (magic 2051, rows×cols as
// expected) and labels (magic 2049, values < classes), counts equal to each other
// and to expected_count unless that is −1. Throws DataError naming the file.
struct IdxImages {
  at::Tensor images;  // uint8 [n, rows, cols]
  std::int64_t rows = 0, cols = 0;
};
IdxImages read_idx_images(const std::string& path, std::int64_t expected_count, std::int64_t rows = 28,
                          std::int64_t cols = 28);
at::Tensor read_idx_labels(const std::string& path, std::int64_t expected_count, std::int64_t classes);

}  // namespace flowbp
