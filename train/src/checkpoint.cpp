#include "flowbp/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>
#include <stdexcept>

#include "flowbp/sealed_file.h"

namespace flowbp {

namespace {

constexpr const char* kTag = "flowbp checkpoint v2";

std::string engine_text(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

void restore_engine(std::mt19937_64& rng, const std::string& text, const std::string& path) {
  std::istringstream in(text);
  in >> rng;
  if (!in) throw std::runtime_error(path + ": damaged random-stream state");
}

// Names and tensors of a model (any backbone): one name list, one tensor list.
void write_model(torch::serialize::OutputArchive& archive, const std::string& key, VelocityModel& model) {
  std::string names;
  c10::List<at::Tensor> tensors;
  for (const auto& [name, tensor] : model.named_tensors()) {
    names += name + "\n";
    tensors.push_back(tensor.detach().cpu());
  }
  archive.write(key + "_names", c10::IValue(names));
  archive.write(key + "_tensors", c10::IValue(tensors));
}

void read_model(torch::serialize::InputArchive& archive, const std::string& key, VelocityModel& model) {
  c10::IValue names, tensors;
  archive.read(key + "_names", names);
  archive.read(key + "_tensors", tensors);
  auto targets = model.named_tensors();
  std::string expected;
  for (const auto& item : targets) expected += item.first + "\n";
  if (names.toStringRef() != expected) throw std::runtime_error(key + ": the tensors are another model's");
  const c10::List<at::Tensor> saved = tensors.toTensorList();
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    at::Tensor from = saved.get(i);
    if (!from.sizes().equals(targets[i].second.sizes()))
      throw std::runtime_error(key + ": " + targets[i].first + " has another shape");
    targets[i].second.copy_(from);
  }
}

// Optimizer moments load on the CPU; they belong where their parameters are.
void move_optimizer_state(torch::optim::AdamW& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) {
      auto it = optimizer.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it == optimizer.state().end()) continue;
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      if (s.exp_avg().defined()) s.exp_avg(s.exp_avg().to(p.device()));
      if (s.exp_avg_sq().defined()) s.exp_avg_sq(s.exp_avg_sq().to(p.device()));
      if (s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(s.max_exp_avg_sq().to(p.device()));
    }
}

}  // namespace

RngStreams RngStreams::seeded(std::int64_t seed, int rank) {
  // seed_seq spreads nearby seeds apart, and the stream tags keep them independent.
  std::seed_seq index_seq{static_cast<std::uint64_t>(seed), std::uint64_t{0x1d}};
  std::seed_seq data_seq{static_cast<std::uint64_t>(seed), std::uint64_t{0xda7a}};
  return RngStreams{at::detail::createCPUGenerator(static_cast<std::uint64_t>(seed + rank)),
                    std::mt19937_64(index_seq), std::mt19937_64(data_seq)};
}

void save_checkpoint(const std::string& path, const TrainingState& state, const std::string& config_id) {
  torch::serialize::OutputArchive archive, optimizer;
  write_model(archive, "model", *state.model);
  write_model(archive, "ema", *state.ema);
  state.optimizer->save(optimizer);
  archive.write("optimizer", optimizer);
  archive.write("noise_rng", state.rng.noise.get_state());
  archive.write("index_rng", c10::IValue(engine_text(state.rng.index)));
  archive.write("data_rng", c10::IValue(engine_text(state.rng.data)));
  archive.write("step", c10::IValue(state.step));
  archive.write("eval_rows", c10::IValue(state.eval_rows));
  archive.write("config_id", c10::IValue(config_id));
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_sealed_file(path, kTag, bytes.str());
}

void load_checkpoint(const std::string& path, TrainingState& state, const std::string& config_id) {
  std::string payload, why;
  if (!read_sealed_file(path, kTag, payload, why)) throw std::runtime_error(path + ": checkpoint " + why);
  torch::serialize::InputArchive archive, optimizer;
  c10::IValue index, data, step, eval_rows, id;
  at::Tensor noise;
  try {
    std::istringstream in(payload);
    archive.load_from(in);
    archive.read("config_id", id);
    if (id.toStringRef() != config_id)
      throw std::runtime_error("it belongs to configuration " + id.toStringRef() + ", not " + config_id);
    read_model(archive, "model", *state.model);
    read_model(archive, "ema", *state.ema);
    archive.read("optimizer", optimizer);
    archive.read("noise_rng", noise);
    archive.read("index_rng", index);
    archive.read("data_rng", data);
    archive.read("step", step);
    archive.read("eval_rows", eval_rows);
    state.optimizer->load(optimizer);
    move_optimizer_state(*state.optimizer);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": cannot restore the checkpoint: " + e.what());
  }
  state.rng.noise.set_state(noise);
  restore_engine(state.rng.index, index.toStringRef(), path);
  restore_engine(state.rng.data, data.toStringRef(), path);
  state.step = step.toInt();
  state.eval_rows = eval_rows.toInt();
}

}  // namespace flowbp
