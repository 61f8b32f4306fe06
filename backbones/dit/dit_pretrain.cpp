#include "dit_pretrain.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "flowbp/model_archive.h"
#include "flowbp/model_cache.h"
#include "flowbp/clock.h"
#include "flowbp/progress.h"
#include "flowbp/rollout.h"
#include "flowbp/schedule.h"
#include "flowbp/sealed_file.h"

namespace flowbp {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::string hex16(std::uint64_t v) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(v));
  return hex;
}

c10::Device device_of(DitModel& model) { return model->parameters().front().device(); }

double learning_rate(const DitPretrainConfig& c, std::int64_t step) {
  if (step < c.warmup) return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup);
  const double p = static_cast<double>(step - c.warmup) / static_cast<double>(std::max<std::int64_t>(1, c.steps - c.warmup));
  return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + std::cos(kPi * std::min(1.0, p))));
}

void ema_update(DitModel& ema, DitModel& model, double decay) {
  at::NoGradGuard no_grad;
  auto e = ema->parameters(), m = model->parameters();
  for (std::size_t i = 0; i < e.size(); ++i) e[i].mul_(decay).add_(m[i].detach(), 1 - decay);
}

struct Checkpoint {
  std::int64_t step = 0;
  double head_sum = 0, tail_sum = 0, elapsed = 0;
};

void save_checkpoint(const std::string& path, const std::string& tag, DitModel& model, DitModel& ema,
                     torch::optim::AdamW& opt, const Checkpoint& c) {
  torch::serialize::OutputArchive archive, m, e, o;
  model->save(m);
  ema->save(e);
  opt.save(o);
  archive.write("model", m);
  archive.write("ema", e);
  archive.write("optimizer", o);
  archive.write("step", archive_scalar(static_cast<double>(c.step)));
  archive.write("head_sum", archive_scalar(c.head_sum));
  archive.write("tail_sum", archive_scalar(c.tail_sum));
  archive.write("elapsed", archive_scalar(c.elapsed));
  write_sealed_file(path, tag, archive_bytes(archive));
}

bool load_checkpoint(const std::string& path, const std::string& tag, DitModel& model, DitModel& ema,
                     torch::optim::AdamW& opt, const c10::Device& device, Checkpoint& c, std::string& why) {
  std::string payload;
  if (!read_sealed_file(path, tag, payload, why)) return false;
  try {
    torch::serialize::InputArchive archive, m, e, o;
    archive.load_from(payload.data(), payload.size(), device);
    archive.read("model", m);
    archive.read("ema", e);
    archive.read("optimizer", o);
    model->load(m);
    ema->load(e);
    opt.load(o);
    c.step = static_cast<std::int64_t>(read_archive_scalar(archive, "step"));
    c.head_sum = read_archive_scalar(archive, "head_sum");
    c.tail_sum = read_archive_scalar(archive, "tail_sum");
    c.elapsed = read_archive_scalar(archive, "elapsed");
  } catch (const std::exception& ex) {
    why = std::string("unreadable checkpoint: ") + ex.what();
    return false;
  }
  return true;
}

}  // namespace

void DitPretrainConfig::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument("DiT pre-training: " + what); };
  model.validate();
  if (steps <= 0) bad("steps must be positive");
  if (batch <= 0) bad("batch must be positive");
  if (warmup < 0 || warmup > steps) bad("warmup must be in [0, steps]");
  if (!(lr > 0)) bad("lr must be positive");
  if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1)) bad("min_lr_ratio must be in [0, 1]");
  if (!(weight_decay >= 0)) bad("weight_decay must be >= 0");
  if (!(grad_clip >= 0)) bad("grad_clip must be >= 0");
  if (!(ema_decay >= 0 && ema_decay < 1)) bad("ema_decay must be in [0, 1)");
  if (!(p_uncond >= 0 && p_uncond < 1)) bad("p_uncond must be in [0, 1)");
  if (t_sampling != "uniform" && t_sampling != "logit_normal")
    bad("t_sampling = '" + t_sampling + "': expected \"uniform\" or \"logit_normal\"");
  if (train_limit < 0) bad("train_limit must be >= 0");
  if (checkpoint_every < 0) bad("checkpoint_every must be >= 0");
}

std::string DitPretrainConfig::describe() const {
  std::ostringstream s;
  s.precision(17);
  s << model.describe() << " steps=" << steps << " batch=" << batch << " warmup=" << warmup << " lr=" << lr
    << " min_lr_ratio=" << min_lr_ratio << " weight_decay=" << weight_decay << " grad_clip=" << grad_clip
    << " ema_decay=" << ema_decay << " p_uncond=" << p_uncond << " t_sampling=" << t_sampling
    << " train_limit=" << train_limit << " seed=" << seed;
  return s.str();
}

DitPretrainConfig dit_pretrain_recipe(const std::string& size) {
  DitPretrainConfig c;
  c.model = dit_size(size);
  if (size == "tiny") {
    c.steps = 300;
    c.batch = 64;
    c.warmup = 30;
    c.lr = 2e-3;
    c.ema_decay = 0.99;
    c.checkpoint_every = 100;
  } else if (size == "small") {
    c.steps = 4000;
    c.batch = 128;
    c.warmup = 200;
    c.lr = 1e-3;
    c.ema_decay = 0.999;
    c.checkpoint_every = 250;
  } else {  // base, for a GPU
    c.steps = 40000;
    c.batch = 256;
    c.warmup = 1000;
    c.lr = 3e-4;
    c.ema_decay = 0.9999;
    c.checkpoint_every = 1000;
  }
  c.validate();
  return c;
}

std::string dit_cache_key(const DitPretrainConfig& config, const ImageDataset& data) {
  // checkpoint_every changes where a run may resume, not the weights: not in the key.
  return hex16(fnv1a64("dit rectified-flow v1|" + config.describe() + "|data=" + data.fingerprint));
}

DitPretrainReport pretrain_dit(DitModel& model, DitModel& ema, const ImageDataset& data,
                               const DitPretrainConfig& config, const DitPretrainOptions& options) {
  const auto start = Clock::now();
  config.validate();
  const DitConfig& mc = config.model;
  at::Tensor images = data.train_images, labels = data.train_labels;
  if (config.train_limit > 0 && config.train_limit < images.size(0)) {
    images = images.narrow(0, 0, config.train_limit);
    labels = labels.narrow(0, 0, config.train_limit);
  }
  if (images.dim() != 4 || images.size(1) != mc.channels || images.size(2) != mc.image_size ||
      images.size(3) != mc.image_size)
    throw std::invalid_argument("DiT pre-training: images of " + data.source + " do not match the model (" +
                                mc.describe() + ")");
  if (data.classes != mc.classes)
    throw std::invalid_argument("DiT pre-training: the data has " + std::to_string(data.classes) +
                                " classes, the model " + std::to_string(mc.classes));
  const std::int64_t n = images.size(0);
  const c10::Device device = options.device;
  model->to(device);
  ema->to(device);
  torch::optim::AdamW opt(model->parameters(),
                          torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));

  DitPretrainReport report;
  Checkpoint state;
  const std::string tag = "dit pretrain checkpoint " + dit_cache_key(config, data);
  bool resumed = false;
  if (!options.checkpoint_path.empty()) {
    std::string why;
    resumed = load_checkpoint(options.checkpoint_path, tag, model, ema, opt, device, state, why);
    if (!resumed && why != "missing") report.rejected_checkpoint = why;
    if (!resumed) state = Checkpoint{};
  }
  if (!resumed) copy_dit_weights(ema, model);
  report.resumed_from = state.step;

  const std::int64_t steps = config.steps, window = std::max<std::int64_t>(1, steps / 10);
  Progress progress("pre-training DiT", steps, state.step, options.progress, options.progress_out);
  if (resumed) progress.note("DiT pre-training: resuming from the checkpoint at step " + std::to_string(state.step));
  model->train();
  double smooth = std::nan("");
  std::int64_t step = state.step;
  for (; step < steps; ++step) {
    if (options.stop_after >= 0 && step >= options.stop_after) break;
    const double lr = learning_rate(config, step);
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    at::Generator gen = at::detail::createCPUGenerator(mix_seed(config.seed, static_cast<std::uint64_t>(step)));
    at::Tensor idx = at::randint(n, {config.batch}, gen, at::kLong).to(images.device());
    at::Tensor x0 = images.index_select(0, idx).to(device);
    at::Tensor eps = at::randn({config.batch, mc.channels, mc.image_size, mc.image_size}, gen, at::kFloat).to(device);
    at::Tensor t = config.t_sampling == "logit_normal" ? at::sigmoid(at::randn({config.batch}, gen, at::kFloat))
                                                        : at::rand({config.batch}, gen, at::kFloat);
    at::Tensor drop = at::rand({config.batch}, gen, at::kFloat) < config.p_uncond;
    at::Tensor cond = at::where(drop, at::full({config.batch}, mc.null_class(), at::kLong),
                                labels.index_select(0, idx.to(labels.device())).cpu());
    t = t.to(device);
    cond = cond.to(device);
    at::Tensor tt = t.view({-1, 1, 1, 1});
    at::Tensor xt = (1 - tt) * x0 + tt * eps;
    at::Tensor loss = (model->forward(xt, t, cond) - (eps - x0)).pow(2).mean();
    opt.zero_grad();
    loss.backward();
    if (config.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), config.grad_clip);
    opt.step();
    ema_update(ema, model,
               std::min(config.ema_decay, static_cast<double>(step + 1) / static_cast<double>(step + 10)));
    const double l = loss.item<double>();
    if (!std::isfinite(l))
      throw std::runtime_error("DiT pre-training: the loss is " + std::to_string(l) + " at step " +
                               std::to_string(step) + " (lr " + std::to_string(lr) + ")");
    if (step < window) state.head_sum += l;
    if (step >= steps - window) state.tail_sum += l;
    smooth = std::isnan(smooth) ? l : 0.98 * smooth + 0.02 * l;
    progress.update(step + 1, smooth, 0.0);
    if (!options.checkpoint_path.empty() && config.checkpoint_every > 0 && (step + 1) % config.checkpoint_every == 0 &&
        step + 1 < steps) {
      state.step = step + 1;
      const double elapsed_before = state.elapsed;
      state.elapsed = elapsed_before + since(start);
      save_checkpoint(options.checkpoint_path, tag, model, ema, opt, state);
      state.elapsed = elapsed_before;
    }
  }
  progress.finish();
  model->eval();
  ema->eval();
  report.steps_done = step;
  report.finished = step >= steps;
  report.first_loss = state.head_sum / static_cast<double>(std::min(window, std::max<std::int64_t>(1, step)));
  report.final_loss = report.finished ? state.tail_sum / static_cast<double>(window) : std::nan("");
  report.seconds = since(start);
  report.total_seconds = state.elapsed + report.seconds;
  return report;
}

double evaluate_flow_loss(DitModel& model, const at::Tensor& images, const at::Tensor& labels, std::uint64_t seed) {
  at::NoGradGuard no_grad;
  const c10::Device device = device_of(model);
  const std::int64_t n = images.size(0);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor eps = at::randn(images.sizes(), gen, at::kFloat);
  at::Tensor t = (at::arange(n, at::kFloat) + 0.5) / static_cast<double>(n);
  double sum = 0;
  for (std::int64_t s = 0; s < n; s += 256) {
    const std::int64_t len = std::min<std::int64_t>(256, n - s);
    at::Tensor x0 = images.narrow(0, s, len).to(device), e = eps.narrow(0, s, len).to(device);
    at::Tensor ts = t.narrow(0, s, len).to(device), tt = ts.view({-1, 1, 1, 1});
    at::Tensor v = model->forward((1 - tt) * x0 + tt * e, ts, labels.narrow(0, s, len).to(device));
    sum += (v.to(at::kFloat) - (e - x0)).pow(2).sum().item<double>();
  }
  return sum / static_cast<double>(images.numel());
}

DitModel load_or_pretrain_dit(const DitPretrainConfig& config, const ImageDataset& data, const std::string& cache_dir,
                              DitLoadInfo* info, DitPretrainOptions options) {
  const auto start = Clock::now();
  config.validate();
  DitLoadInfo local;
  DitLoadInfo& out = info ? *info : local;
  out = DitLoadInfo{};
  out.key = dit_cache_key(config, data);
  const std::string name = "dit-" + out.key + ".bin";
  out.path = cache_dir + "/" + name;
  const std::string tag = "dit backbone " + out.key;

  DitModel ema(config.model);
  const auto load = [&](const std::string& payload) {
    torch::serialize::InputArchive archive, m;
    archive.load_from(payload.data(), payload.size(), options.device);
    archive.read("model", m);
    ema->load(m);
    out.final_loss = read_archive_scalar(archive, "final_loss");
    out.pretrain_seconds = read_archive_scalar(archive, "pretrain_seconds");
  };
  bool finished = false;
  const auto build = [&]() -> std::optional<std::string> {
    if (options.checkpoint_path.empty()) options.checkpoint_path = cache_dir + "/dit-" + out.key + ".ckpt";
    DitModel model = make_dit(config.model, config.seed);
    ema = DitModel(config.model);
    const DitPretrainReport report = pretrain_dit(model, ema, data, config, options);
    out.resumed_from = report.resumed_from;
    out.final_loss = report.final_loss;
    out.pretrain_seconds = report.total_seconds;
    if (!(finished = report.finished)) return std::nullopt;
    torch::serialize::OutputArchive archive, m;
    ema->save(m);
    archive.write("model", m);
    archive.write("final_loss", archive_scalar(report.final_loss));
    archive.write("pretrain_seconds", archive_scalar(report.total_seconds));
    return archive_bytes(archive);
  };
  const ModelSource source = load_or_build_model(cache_dir, name, tag, load, build,
                                                 options.progress ? options.progress_out : nullptr);
  out.path = source.path;
  out.from_cache = source.from_cache;
  out.shipped = source.shipped;
  out.rejected = source.rejected;
  // The checkpoint goes once the finished model is sealed in the cache.
  if (finished) std::remove(options.checkpoint_path.c_str());
  ema->to(options.device);
  ema->eval();
  out.seconds = since(start);
  return ema;
}

at::Tensor sample(DitModel& model, const at::Tensor& cond, const at::Tensor& noise, int steps, double guidance,
                  double shift) {
  at::NoGradGuard no_grad;
  const Schedule schedule = Schedule::make(steps, shift);
  const std::int64_t b = noise.size(0);
  at::Tensor c = cond.to(noise.device(), at::kLong);
  const bool guided = guidance != 1.0;
  at::Tensor both = guided ? at::cat({c, at::full_like(c, model->config().null_class())}) : c;
  at::Tensor x = noise;
  for (int i = schedule.steps(); i >= 1; --i) {
    at::Tensor v;
    if (guided) {
      at::Tensor out = model->forward(at::cat({x, x}), schedule.t[i], both);
      at::Tensor vc = out.narrow(0, 0, b), vu = out.narrow(0, b, b);
      v = vu + guidance * (vc - vu);
    } else {
      v = model->forward(x, schedule.t[i], c);
    }
    x = euler_update(x, v, schedule.dt(i));
  }
  return x;
}

ClassSamples sample_classes(DitModel& model, std::int64_t per_class, int steps, double guidance, std::uint64_t seed,
                            std::int64_t batch, double shift) {
  const DitConfig& c = model->config();
  const c10::Device device = device_of(model);
  ClassSamples out;
  at::Tensor labels = at::arange(c.classes, at::kLong).repeat_interleave(per_class);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor noise = at::randn({labels.size(0), c.channels, c.image_size, c.image_size}, gen, at::kFloat);
  std::vector<at::Tensor> parts;
  for (std::int64_t s = 0; s < labels.size(0); s += batch) {
    const std::int64_t len = std::min(batch, labels.size(0) - s);
    parts.push_back(sample(model, labels.narrow(0, s, len), noise.narrow(0, s, len).to(device), steps, guidance, shift));
  }
  out.images = at::cat(parts);
  out.labels = labels.to(device);
  return out;
}

}  // namespace flowbp
