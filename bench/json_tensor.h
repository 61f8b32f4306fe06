// Tensors as JSON arrays (float64 values), for specs handed to the Python reference.
#pragma once
#include <ATen/core/Tensor.h>

#include "json.h"

namespace flowbp::bench {

Json nested_list(const at::Tensor& tensor);  // shape kept: [[...], ...]
Json flat_list(const at::Tensor& tensor);    // row-major, one level
Json shape_of(const at::Tensor& tensor);

}  // namespace flowbp::bench
