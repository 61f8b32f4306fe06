#include "json_tensor.h"

#include <ATen/ATen.h>

namespace flowbp::bench {

Json flat_list(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kDouble).contiguous().reshape({-1});
  const double* data = t.data_ptr<double>();
  Json out = Json::array();
  for (std::int64_t i = 0; i < t.numel(); ++i) out.push_back(Json(data[i]));
  return out;
}

Json nested_list(const at::Tensor& tensor) {
  if (tensor.dim() == 0) return Json(tensor.detach().to(at::kDouble).item<double>());
  if (tensor.dim() == 1) return flat_list(tensor);
  Json out = Json::array();
  for (std::int64_t i = 0; i < tensor.size(0); ++i) out.push_back(nested_list(tensor[i]));
  return out;
}

Json shape_of(const at::Tensor& tensor) {
  Json out = Json::array();
  for (auto s : tensor.sizes()) out.push_back(Json(static_cast<long long>(s)));
  return out;
}

}  // namespace flowbp::bench
