// A labelled grey-image data set, as plain data: what the image backbone trains on
// and what the image rewards and evaluators are trained and scored with. It lives in
// the models layer's shared vocabulary (not in backbones/dit) so that the reward kinds
// and the held-out evaluator can use it without seeing the DiT.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace flowbp {

struct ImageDataset {
  at::Tensor train_images;  // float32 [n_train, 1, H, W], values in [-1, 1]
  at::Tensor train_labels;  // int64 [n_train], in [0, classes)
  at::Tensor test_images;   // float32 [n_test, 1, H, W]
  at::Tensor test_labels;   // int64 [n_test]
  std::int64_t classes = 0;
  std::string source;       // where it was read from (a folder), for messages
  std::string fingerprint;  // 16 hex digits over the decoded bytes: a cache key for what was learned from it
};

}  // namespace flowbp
