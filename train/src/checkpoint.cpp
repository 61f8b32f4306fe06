#include "flowbp/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>
#include <stdexcept>

#include "flowbp/sealed_file.h"

namespace flowbp {

namespace {

constexpr const char* kTag = "flowbp checkpoint v1";

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

}  // namespace

RngStreams RngStreams::seeded(std::int64_t seed, int rank) {
  // seed_seq spreads nearby seeds apart, and the stream tags keep them independent.
  std::seed_seq index_seq{static_cast<std::uint64_t>(seed), std::uint64_t{0x1d}};
  std::seed_seq data_seq{static_cast<std::uint64_t>(seed), std::uint64_t{0xda7a}};
  return RngStreams{at::detail::createCPUGenerator(static_cast<std::uint64_t>(seed + rank)),
                    std::mt19937_64(index_seq), std::mt19937_64(data_seq)};
}

void save_checkpoint(const std::string& path, const TrainingState& state, const std::string& config_id) {
  torch::serialize::OutputArchive archive, model, ema, optimizer;
  state.model->save(model);
  state.ema->save(ema);
  state.optimizer->save(optimizer);
  archive.write("model", model);
  archive.write("ema", ema);
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
  torch::serialize::InputArchive archive, model, ema, optimizer;
  c10::IValue index, data, step, eval_rows, id;
  at::Tensor noise;
  try {
    std::istringstream in(payload);
    archive.load_from(in);
    archive.read("config_id", id);
    if (id.toStringRef() != config_id)
      throw std::runtime_error("it belongs to configuration " + id.toStringRef() + ", not " + config_id);
    archive.read("model", model);
    archive.read("ema", ema);
    archive.read("optimizer", optimizer);
    archive.read("noise_rng", noise);
    archive.read("index_rng", index);
    archive.read("data_rng", data);
    archive.read("step", step);
    archive.read("eval_rows", eval_rows);
    state.model->load(model);
    state.ema->load(ema);
    state.optimizer->load(optimizer);
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
