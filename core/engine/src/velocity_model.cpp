#include "flowbp/velocity_model.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace flowbp {

VelocityModel::~VelocityModel() = default;

void copy_tensors(VelocityModel& dst, VelocityModel& src) {
  at::NoGradGuard no_grad;
  auto to = dst.named_tensors(), from = src.named_tensors();
  if (to.size() != from.size()) throw std::logic_error("copy_tensors: the models differ in their tensors");
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (to[i].first != from[i].first)
      throw std::logic_error("copy_tensors: tensor " + to[i].first + " vs " + from[i].first);
    to[i].second.copy_(from[i].second);
  }
}

}  // namespace flowbp
