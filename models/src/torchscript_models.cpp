// The only file that includes <torch/script.h> (heavy): the TorchScript models.
#include "flowbp/torchscript_models.h"

#include <sys/stat.h>
#include <torch/script.h>

#include <sstream>

#include "flowbp/error_message.h"
#include "flowbp/experiment.h"

namespace flowbp {

namespace {

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream s;
  s << '[';
  for (std::size_t i = 0; i < sizes.size(); ++i) s << (i ? ", " : "") << sizes[i];
  return s.str() + ']';
}

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

class ScriptedVelocity final : public VelocityModel {
 public:
  explicit ScriptedVelocity(torch::jit::Module module) : module_(std::move(module)) {}

  at::Tensor forward(const at::Tensor& x, double t, const at::Tensor& cond) override {
    const at::Tensor times = at::full({x.size(0)}, t, x.options().dtype(at::kFloat));
    return module_.forward({x, times, cond}).toTensor();
  }
  std::vector<at::Tensor> parameters() override {
    std::vector<at::Tensor> out;
    for (const auto& p : module_.parameters()) out.push_back(p);
    return out;
  }
  std::vector<std::pair<std::string, at::Tensor>> named_tensors() override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& p : module_.named_parameters()) out.emplace_back(p.name, p.value);
    for (const auto& b : module_.named_buffers()) out.emplace_back(b.name, b.value);
    return out;
  }
  std::shared_ptr<VelocityModel> clone() override {
    // Under no-grad the copies are leaves again (a tracked clone could not be optimized).
    torch::jit::Module copy = [&] {
      at::NoGradGuard no_grad;
      return module_.deepcopy();
    }();
    auto from = module_.parameters();
    auto to = copy.parameters();
    for (auto f = from.begin(), t = to.begin(); f != from.end() && t != to.end(); ++f, ++t)
      (*t).requires_grad_((*f).requires_grad());
    return std::make_shared<ScriptedVelocity>(std::move(copy));
  }
  void train() override { module_.train(true); }
  void eval() override { module_.eval(); }
  void to(const c10::Device& device) override { module_.to(device); }

 private:
  torch::jit::Module module_;
};

struct Probe {
  std::string key, path;
  ConfigError fail(const std::string& problem) const { return ConfigError(key + ": " + path + ": " + problem); }
};

torch::jit::Module load_module(const Probe& probe, const c10::Device& device, std::size_t inputs,
                               const char* signature) {
  struct stat st {};
  if (::stat(probe.path.c_str(), &st) != 0) throw probe.fail("no such file");
  torch::jit::Module module;
  try {
    module = torch::jit::load(probe.path, device);
  } catch (const c10::Error& e) {
    throw probe.fail("not a TorchScript file (expected what torch.jit.script(module).save(path) writes): " +
                     first_line(e.what_without_backtrace()));
  }
  auto forward = module.find_method("forward");
  if (!forward) throw probe.fail(std::string("the module has no forward method; expected ") + signature);
  const auto& schema = forward->function().getSchema();
  // The schema's first argument is self.
  if (schema.arguments().size() != inputs + 1) {
    std::ostringstream got;
    got << schema;
    throw probe.fail(std::string("expected ") + signature + ", got " + got.str());
  }
  return module;
}

at::Tensor call(const Probe& probe, torch::jit::Module& module, std::vector<c10::IValue> inputs,
                const std::string& described) {
  c10::IValue out;
  try {
    out = module.forward(std::move(inputs));
  } catch (const std::exception& e) {
    throw probe.fail("forward" + described + " failed on the probe batch: " + first_line(error_message(e)));
  }
  if (!out.isTensor()) throw probe.fail("forward" + described + " returned " + out.tagKind() + ", expected a Tensor");
  at::Tensor t = out.toTensor();
  if (!at::isFloatingType(t.scalar_type()))
    throw probe.fail("forward" + described + " returned a " + std::string(c10::toString(t.scalar_type())) +
                     " tensor, expected a floating-point one");
  return t;
}

}  // namespace

namespace {

struct ProbeBatch {
  at::Tensor x, t;
  std::vector<at::Tensor> conds;  // the first and last condition, then the null one
  std::string x_text;
};

ProbeBatch probe_batch(const ScriptProbe& p) {
  std::vector<std::int64_t> shape = {2};
  shape.insert(shape.end(), p.latent_shape.begin(), p.latent_shape.end());
  ProbeBatch b;
  b.x = at::randn(shape, at::TensorOptions().device(p.device)).requires_grad_(true);
  b.t = at::full({2}, 0.5, at::TensorOptions().device(p.device));
  b.conds = {at::tensor({std::int64_t{0}, p.conditions - 1}).to(p.device)};
  if (p.null_condition >= 0) b.conds.push_back(at::full({2}, p.null_condition, at::kLong).to(p.device));
  b.x_text = "x: Tensor" + shape_text(shape);
  return b;
}

}  // namespace

std::shared_ptr<VelocityModel> load_scripted_velocity(const std::string& key, const std::string& path,
                                                      const ScriptProbe& probe) {
  const ProbeBatch b = probe_batch(probe);
  const Probe v{key, path};
  const char* signature = "forward(x: Tensor[B, *latent_shape], t: Tensor[B] float, cond: Tensor[B] int64) -> Tensor";
  torch::jit::Module velocity = load_module(v, probe.device, 3, signature);
  velocity.train(true);
  bool trainable = false;
  for (const auto& p : velocity.parameters()) trainable = trainable || p.requires_grad();
  if (!trainable)
    throw v.fail("the module has no trainable parameters (requires_grad): there is nothing to fine-tune");
  for (std::size_t i = 0; i < b.conds.size(); ++i) {
    const std::string described = "(" + b.x_text + ", t: Tensor[2] float, cond: Tensor[2] int64" +
                                  (i ? " = null_condition" : "") + ")";
    const at::Tensor out = call(v, velocity, {b.x, b.t, b.conds[i]}, described);
    if (out.sizes() != b.x.sizes())
      throw v.fail("forward" + described + " returned a tensor of shape " + shape_text(out.sizes()) +
                   ", expected the shape of x " + shape_text(b.x.sizes()) + " (backbone.latent_shape " +
                   shape_text(probe.latent_shape) + ")");
  }
  return std::make_shared<ScriptedVelocity>(std::move(velocity));
}

RewardFn load_scripted_reward(const std::string& key, const std::string& path, const ScriptProbe& probe) {
  const ProbeBatch b = probe_batch(probe);
  const Probe r{key, path};
  auto reward = std::make_shared<torch::jit::Module>(
      load_module(r, probe.device, 2, "forward(x: Tensor[B, *latent_shape], cond: Tensor[B] int64) -> Tensor[B]"));
  reward->eval();
  // The reward's own parameters stay fixed: only the velocity model trains.
  for (auto p : reward->parameters()) p.set_requires_grad(false);
  const std::string described = "(" + b.x_text + ", cond: Tensor[2] int64)";
  const at::Tensor score = call(r, *reward, {b.x, b.conds[0]}, described);
  if (score.dim() != 1 || score.size(0) != 2)
    throw r.fail("forward" + described + " returned a tensor of shape " + shape_text(score.sizes()) +
                 ", expected [2]: one reward per sample");
  if (!score.requires_grad())
    throw r.fail("forward" + described + " is not differentiable in x: no gradient would reach the velocity model");
  return [reward](const at::Tensor& xs, const at::Tensor& cond) {
    return reward->forward({xs, cond}).toTensor().to(at::kFloat);
  };
}

}  // namespace flowbp
