#include <ATen/ATen.h>

#include <string>

#include "fashion_mnist.h"
#include "image_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

// The DataError message of f(), or "" when it does not throw one.
template <class F>
std::string data_error(F f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

void check_names_the_fixes(const std::string& message) {
  CHECK(message.find("apt-get install dataset-fashion-mnist") != std::string::npos);
  CHECK(message.find("backbone.data_dir") != std::string::npos);
}

}  // namespace

TEST_CASE("a synthetic IDX folder loads with its pixels, labels and range") {
  const std::string dir = synthetic_idx_dir(20, 10);
  ImageDataset d = load_fashion_mnist(dir, {20, 10});
  CHECK(d.train_images.sizes() == at::IntArrayRef({20, 1, 28, 28}));
  CHECK(d.test_images.sizes() == at::IntArrayRef({10, 1, 28, 28}));
  CHECK((d.train_images.scalar_type() == at::kFloat));
  CHECK((d.train_labels.scalar_type() == at::kLong));
  CHECK(d.classes == 10);
  CHECK(d.source == dir);
  CHECK(d.fingerprint.size() == 16);
  // Pixel i of image k is (7k + i) mod 256, mapped by p/127.5 − 1.
  CHECK(d.train_images[3][0][1][2].item<float>() == doctest::Approx((7 * 3 + 30) / 127.5 - 1));
  CHECK(d.train_images.min().item<float>() == -1.0f);
  CHECK(d.train_images.max().item<float>() == 1.0f);
  CHECK(d.train_labels[13].item<std::int64_t>() == 3);
  CHECK(d.test_labels[9].item<std::int64_t>() == 9);
  CHECK_NOTHROW(check_fashion_mnist(dir, {20, 10}));
  // Another folder with other bytes: another fingerprint.
  CHECK(load_fashion_mnist(synthetic_idx_dir(21, 10), {21, 10}).fingerprint != d.fingerprint);
  CHECK(load_fashion_mnist(dir, {-1, -1}).fingerprint == d.fingerprint);
}

TEST_CASE("the readers for one file pair") {
  const std::string dir = temp_dir("idx-one");
  write_gz(dir + "/img.gz", idx_images(3, 5, 4, pixel_bytes(3, 20)));
  write_gz(dir + "/lab.gz", idx_labels(3, std::string("\x02\x00\x04", 3)));
  IdxImages im = read_idx_images(dir + "/img.gz", 3, 5, 4);
  CHECK(im.images.sizes() == at::IntArrayRef({3, 5, 4}));
  CHECK(im.images[2][1][3].item<int>() == (7 * 2 + 7) % 256);
  at::Tensor labels = read_idx_labels(dir + "/lab.gz", -1, 5);
  CHECK((labels.scalar_type() == at::kLong));
  CHECK(at::equal(labels, at::tensor({2, 0, 4}, at::kLong)));
}

TEST_CASE("each bad input gives its error, naming the file, the package and the key") {
  SUBCASE("missing folder or file") {
    const std::string dir = temp_dir("idx-missing");
    const std::string m = data_error([&] { load_fashion_mnist(dir + "/nowhere"); });
    CHECK(m.find(dir + "/nowhere/train-images-idx3-ubyte.gz: missing") != std::string::npos);
    check_names_the_fixes(m);
    CHECK(data_error([&] { check_fashion_mnist(dir + "/nowhere"); }) == m);
    const std::string partial = synthetic_idx_dir(4, 4);
    std::remove((partial + "/t10k-labels-idx1-ubyte.gz").c_str());
    const std::string m2 = data_error([&] { load_fashion_mnist(partial, {4, 4}); });
    CHECK(m2.find("t10k-labels-idx1-ubyte.gz: missing") != std::string::npos);
    check_names_the_fixes(m2);
  }
  SUBCASE("wrong magic numbers") {
    const std::string dir = synthetic_idx_dir(4, 4);
    write_gz(dir + "/train-images-idx3-ubyte.gz", idx_images(4, 28, 28, pixel_bytes(4), 2049));
    const std::string m = data_error([&] { load_fashion_mnist(dir, {4, 4}); });
    CHECK(m.find("train-images-idx3-ubyte.gz: wrong magic number 2049 (expected 2051") != std::string::npos);
    CHECK(m.find("this is a label file") != std::string::npos);
    check_names_the_fixes(m);
    CHECK(data_error([&] { check_fashion_mnist(dir, {4, 4}); }) == m);
    const std::string dir2 = synthetic_idx_dir(4, 4);
    write_gz(dir2 + "/t10k-labels-idx1-ubyte.gz", idx_labels(4, label_bytes(4), 0x12345678));
    CHECK(data_error([&] { load_fashion_mnist(dir2, {4, 4}); })
              .find("t10k-labels-idx1-ubyte.gz: wrong magic number 305419896 (expected 2049") != std::string::npos);
  }
  SUBCASE("wrong image size") {
    const std::string dir = synthetic_idx_dir(4, 4);
    write_gz(dir + "/t10k-images-idx3-ubyte.gz", idx_images(4, 27, 28, pixel_bytes(4, 27 * 28)));
    CHECK(data_error([&] { load_fashion_mnist(dir, {4, 4}); })
              .find("t10k-images-idx3-ubyte.gz: images are 27x28, expected 28x28") != std::string::npos);
  }
  SUBCASE("counts other than Fashion-MNIST's") {
    const std::string dir = synthetic_idx_dir(4, 4);
    const std::string m = data_error([&] { load_fashion_mnist(dir); });
    CHECK(m.find("train-images-idx3-ubyte.gz: holds 4 images, expected 60000") != std::string::npos);
    check_names_the_fixes(m);
    CHECK(data_error([&] { check_fashion_mnist(dir); }) == m);
  }
  SUBCASE("images and labels disagree") {
    const std::string dir = synthetic_idx_dir(5, 4);
    write_gz(dir + "/train-labels-idx1-ubyte.gz", idx_labels(4, label_bytes(4)));
    const std::string m = data_error([&] { load_fashion_mnist(dir, {-1, -1}); });
    CHECK(m.find("train-labels-idx1-ubyte.gz: holds 4 labels but " + dir + "/train-images-idx3-ubyte.gz holds 5 images") !=
          std::string::npos);
    check_names_the_fixes(m);
    CHECK(data_error([&] { check_fashion_mnist(dir, {-1, -1}); }) == m);
  }
  SUBCASE("a label outside the classes") {
    const std::string dir = synthetic_idx_dir(4, 4);
    std::string labels = label_bytes(4);
    labels[2] = 10;
    write_gz(dir + "/train-labels-idx1-ubyte.gz", idx_labels(4, labels));
    const std::string m = data_error([&] { load_fashion_mnist(dir, {4, 4}); });
    CHECK(m.find("train-labels-idx1-ubyte.gz: label 10 at index 2 is outside [0, 10)") != std::string::npos);
    check_names_the_fixes(m);
  }
  SUBCASE("fewer pixels than the header announces") {
    const std::string dir = synthetic_idx_dir(4, 4);
    write_gz(dir + "/train-images-idx3-ubyte.gz", idx_images(4, 28, 28, pixel_bytes(3)));
    const std::string m = data_error([&] { load_fashion_mnist(dir, {4, 4}); });
    CHECK(m.find("train-images-idx3-ubyte.gz: truncated: the pixels of 4 images needs 3136 bytes, the file ends "
                 "after 2352") != std::string::npos);
    check_names_the_fixes(m);
  }
  SUBCASE("a cut gzip stream") {
    const std::string dir = synthetic_idx_dir(40, 4);
    const std::string path = dir + "/train-images-idx3-ubyte.gz";
    truncate_file(path, read_file(path).size() / 2);
    const std::string m = data_error([&] { load_fashion_mnist(dir, {40, 4}); });
    CHECK(m.find("train-images-idx3-ubyte.gz: truncated") != std::string::npos);
    check_names_the_fixes(m);
  }
  SUBCASE("a damaged gzip stream") {
    const std::string dir = synthetic_idx_dir(40, 4);
    const std::string path = dir + "/train-images-idx3-ubyte.gz";
    flip_byte(path, 6);  // inside the CRC-32 trailer
    const std::string m = data_error([&] { load_fashion_mnist(dir, {40, 4}); });
    CHECK(m.find("train-images-idx3-ubyte.gz: corrupt gzip data") != std::string::npos);
    check_names_the_fixes(m);
  }
  SUBCASE("more bytes than the header announces") {
    const std::string dir = synthetic_idx_dir(4, 4);
    write_gz(dir + "/t10k-labels-idx1-ubyte.gz", idx_labels(4, label_bytes(5)));
    CHECK(data_error([&] { load_fashion_mnist(dir, {4, 4}); })
              .find("t10k-labels-idx1-ubyte.gz: trailing bytes after the 4 labels") != std::string::npos);
  }
  SUBCASE("an empty file") {
    const std::string dir = synthetic_idx_dir(4, 4);
    write_file(dir + "/t10k-images-idx3-ubyte.gz", "");
    CHECK(data_error([&] { load_fashion_mnist(dir, {4, 4}); })
              .find("t10k-images-idx3-ubyte.gz: truncated: the magic number needs 4 bytes") != std::string::npos);
  }
}

TEST_CASE("the real Fashion-MNIST, when installed") {
  if (!file_exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed: skipped");
    return;
  }
  CHECK_NOTHROW(check_fashion_mnist());
  ImageDataset d = load_fashion_mnist();
  CHECK(d.train_images.sizes() == at::IntArrayRef({60000, 1, 28, 28}));
  CHECK(d.test_images.sizes() == at::IntArrayRef({10000, 1, 28, 28}));
  CHECK(d.train_labels.size(0) == 60000);
  CHECK(d.test_labels.size(0) == 10000);
  CHECK(d.train_images.min().item<float>() >= -1.0f);
  CHECK(d.train_images.max().item<float>() <= 1.0f);
  at::Tensor train_hist = at::bincount(d.train_labels, {}, 10);
  at::Tensor test_hist = at::bincount(d.test_labels, {}, 10);
  CHECK(at::equal(train_hist, at::full({10}, 6000, at::kLong)));
  CHECK(at::equal(test_hist, at::full({10}, 1000, at::kLong)));
  // Mean pixel of Fashion-MNIST's training images, (x+1)/2 ≈ 0.286.
  CHECK(((d.train_images + 1) / 2).mean().item<double>() == doctest::Approx(0.286).epsilon(0.01));
  CHECK(fashion_mnist_class_names().size() == 10);
  CHECK(fashion_mnist_class_names()[9] == "Ankle boot");
}
