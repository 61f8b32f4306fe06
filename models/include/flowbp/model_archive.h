// What the harness's own trained networks (the DiT's pre-training, the image
// classifiers) share when they train and store themselves: a seed per training step
// and the scalars stored beside the weights in a torch archive.
#pragma once
#include <ATen/ATen.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cstdint>
#include <string>

namespace flowbp {

// splitmix64 of (seed, step): independent, reproducible draws for every step, so a
// resumed training needs no generator state and any device sees the same data.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t step);

// A double stored in an archive (as a 0-d float64 tensor), and read back.
at::Tensor archive_scalar(double value);
double read_archive_scalar(torch::serialize::InputArchive& archive, const std::string& key);

// The archive's bytes, for a sealed file.
std::string archive_bytes(torch::serialize::OutputArchive& archive);

}  // namespace flowbp
