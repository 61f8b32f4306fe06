#include "python_reference.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "bench_run.h"
#include "json_tensor.h"
#include "subprocess.h"

namespace flowbp::bench {

std::string default_reference_script() {
  if (const char* env = std::getenv("FLOWBP_BENCH_REFERENCE")) return env;
  for (const char* path : {FLOWBP_BENCH_REFERENCE_SOURCE, FLOWBP_BENCH_REFERENCE_INSTALLED})
    if (std::filesystem::exists(path)) return path;
  return FLOWBP_BENCH_REFERENCE_SOURCE;
}

namespace {

Json param_json(const SettingValue& value) {
  if (const auto* b = std::get_if<bool>(&value)) return Json(*b);
  if (const auto* i = std::get_if<std::int64_t>(&value)) return Json(static_cast<long long>(*i));
  if (const auto* d = std::get_if<double>(&value)) return Json(*d);
  return Json(std::get<std::string>(value));
}

// Removes the spec file however run_reference leaves.
struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) std::remove(path.c_str());
  }
};

}  // namespace

Json model_spec(const Experiment& e, const ModePreferenceReward& reward) {
  Json spec = Json::object();
  const ToyConfig toy = ToyConfig::from(e.backbone.settings);
  spec.set("dim", static_cast<long long>(toy.dim));
  spec.set("classes", static_cast<long long>(toy.classes));
  spec.set("hidden", static_cast<long long>(toy.hidden));
  spec.set("layers", static_cast<long long>(toy.layers));
  spec.set("time_embed", static_cast<long long>(toy.time_embed));
  Json r = Json::object();
  r.set("width", reward.width());
  r.set("tau", e.reward.tau);
  r.set("loss_scale", e.reward.loss_scale);
  r.set("preferred_means", nested_list(reward.preferred_means()));
  spec.set("reward", r);
  return spec;
}

const std::vector<std::string>& python_methods() {
  static const std::vector<std::string> names = {"flowbp-sparse", "leapalign", "flowbp-lagrange"};
  return names;
}

Json python_bench_spec(const Registry& registry, const BenchSettings& settings,
                       const std::vector<std::string>& methods) {
  Json spec = Json::object();
  spec.set("mode", "bench");
  Json list = Json::array();
  for (const auto& name : methods) {
    const Experiment e = bench_experiment(registry, settings, name, settings.steps);
    if (list.items().empty()) {
      const GaussianMixture mixture = ToyConfig::from(e.backbone.settings).mixture();
      const ModePreferenceReward reward(mixture, ModePreferenceConfig::from(e.reward.settings));
      const Json model = model_spec(e, reward);
      for (const auto& [key, value] : model.members()) spec.set(key, value);
      spec.set("batch", static_cast<long long>(e.train.batch));
      spec.set("steps", static_cast<long long>(e.sampling.steps));
      spec.set("threads", settings.threads);
      spec.set("iters", settings.iters);
      spec.set("warmup", settings.warmup);
      spec.set("seed", static_cast<long long>(settings.seed));
      Json t = Json::object();
      t.set("lr", e.train.lr);
      t.set("weight_decay", e.train.weight_decay);
      t.set("max_grad_norm", e.train.max_grad_norm);
      t.set("ema_decay", e.train.ema_decay);
      spec.set("train", t);
    }
    Json m = Json::object();
    m.set("name", name);
    for (const auto& [key, value] : e.method_params.all()) m.set(key, param_json(value));
    list.push_back(m);
  }
  spec.set("methods", list);
  return spec;
}

Json run_reference(const std::string& python_exe, const std::string& script, const Json& spec) {
  if (!std::filesystem::exists(script))
    throw std::runtime_error("the Python reference " + script + " does not exist (use --reference)");
  TempFile file;
  std::string pattern = (std::filesystem::temp_directory_path() / "flowbp-bench-XXXXXX").string();
  const int fd = mkstemp(pattern.data());
  if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + pattern);
  close(fd);
  file.path = pattern;
  {
    std::ofstream out(file.path);
    out << spec.dump(0);
    if (!out) throw std::runtime_error("cannot write " + file.path);
  }
  const Captured c = run_capture({python_exe, script, "--spec", file.path});
  if (c.exit_status != 0)
    throw std::runtime_error(python_exe + " " + script + " exited with status " + std::to_string(c.exit_status));
  try {
    return Json::parse(c.out);
  } catch (const JsonError& e) {
    throw std::runtime_error(script + ": unreadable output: " + e.what());
  }
}

PythonResult parse_python_result(const Json& out) {
  PythonResult result;
  result.torch_version = out.at("torch_version").as_string();
  if (const Json* flush = out.find("flush_denormal")) result.flush_denormal = flush->as_bool();
  for (const auto& [name, rows] : out.at("methods").members()) {
    auto& list = result.iterations[name];
    auto& cpu = result.cpu[name];
    for (const auto& row : rows.items()) {
      PhaseTimes p;
      p.rollout = row.at("rollout").as_number();
      p.plan = row.at("plan").as_number();
      p.surrogate_forward = row.at("surrogate_forward").as_number();
      p.backward = row.at("backward").as_number();
      p.optimizer = row.at("optimizer").as_number();
      p.total = row.at("step").as_number();
      p.other = std::max(0.0, p.total - p.rollout - p.plan - p.surrogate_forward - p.backward - p.optimizer);
      list.push_back(p);
      cpu.push_back(row.at("step_cpu").as_number());
    }
  }
  return result;
}

}  // namespace flowbp::bench
