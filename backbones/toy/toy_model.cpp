#include "toy_backbone.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace flowbp {

namespace {

class ToyModel final : public VelocityModel {
 public:
  ToyModel(ToyVelocityNet net, ToyConfig config) : net_(std::move(net)), config_(std::move(config)) {}

  at::Tensor forward(const at::Tensor& x, double t, const at::Tensor& cond) override {
    return net_->forward(x, t, cond);
  }
  std::vector<at::Tensor> parameters() override { return net_->parameters(); }
  std::vector<std::pair<std::string, at::Tensor>> named_tensors() override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& item : net_->named_parameters()) out.emplace_back(item.key(), item.value());
    for (const auto& item : net_->named_buffers()) out.emplace_back(item.key(), item.value());
    return out;
  }
  std::shared_ptr<VelocityModel> clone() override {
    auto copy = std::make_shared<ToyModel>(make_velocity_net(config_), config_);
    copy->net_->to(device_of_parameters());
    copy_tensors(*copy, *this);
    return copy;
  }
  void train() override { net_->train(); }
  void eval() override { net_->eval(); }
  void to(const c10::Device& device) override { net_->to(device); }
  ToyVelocityNet& net() { return net_; }

 private:
  c10::Device device_of_parameters() { return net_->parameters().front().device(); }
  ToyVelocityNet net_;
  ToyConfig config_;
};

}  // namespace

std::shared_ptr<VelocityModel> wrap_toy(ToyVelocityNet net, const ToyConfig& config) {
  return std::make_shared<ToyModel>(std::move(net), config);
}

ToyVelocityNet& toy_net(VelocityModel& model) {
  auto* toy = dynamic_cast<ToyModel*>(&model);
  if (!toy) throw std::logic_error("toy_net: the model is not the toy MLP");
  return toy->net();
}

}  // namespace flowbp
