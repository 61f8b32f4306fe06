#include "dit_velocity.h"

#include <stdexcept>

namespace flowbp {

namespace {

class DitVelocity final : public VelocityModel {
 public:
  explicit DitVelocity(DitModel model) : model_(std::move(model)) {}

  at::Tensor forward(const at::Tensor& x, double t, const at::Tensor& cond) override {
    return model_->forward(x, t, cond);
  }
  std::vector<at::Tensor> parameters() override { return model_->parameters(); }
  std::vector<std::pair<std::string, at::Tensor>> named_tensors() override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& item : model_->named_parameters()) out.emplace_back(item.key(), item.value());
    for (const auto& item : model_->named_buffers()) out.emplace_back(item.key(), item.value());
    return out;
  }
  std::shared_ptr<VelocityModel> clone() override { return std::make_shared<DitVelocity>(clone_dit(model_)); }
  void train() override { model_->train(); }
  void eval() override { model_->eval(); }
  void to(const c10::Device& device) override { model_->to(device); }
  DitModel& model() { return model_; }

 private:
  DitModel model_;
};

}  // namespace

std::shared_ptr<VelocityModel> wrap_dit(DitModel model) { return std::make_shared<DitVelocity>(std::move(model)); }

DitModel& dit_of(VelocityModel& model) {
  auto* dit = dynamic_cast<DitVelocity*>(&model);
  if (!dit) throw std::logic_error("dit_of: the model is not a DiT");
  return dit->model();
}

}  // namespace flowbp
