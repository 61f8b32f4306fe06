#include "toy_backbone.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

#include "flowbp/clock.h"
#include "flowbp/files.h"
#include "flowbp/sealed_file.h"

namespace flowbp {

namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

std::vector<SettingSpec> toy_settings() {
  using S = SettingSpec;
  const ToyConfig d;
  return {
      S::integer("dim", d.dim, 1, 4096, "data dimension d").with_aliases({"dimension", "dims", "d"}),
      S::integer("classes", d.classes, 1, 1000, "number of conditions (classes)").with_aliases({"num_classes", "n_classes"}),
      S::integer("modes_per_class", d.modes_per_class, 1, 1000, "mixture modes per class").with_aliases({"modes", "num_modes"}),
      S::positive("mode_std", d.mode_std, "standard deviation of each mixture mode"),
      S::integer("hidden", d.hidden, 1, 65536, "width of the MLP velocity model").with_aliases({"hidden_dim", "hidden_size", "width"}),
      S::integer("layers", d.layers, 1, 64, "hidden layers of the MLP").with_aliases({"num_layers", "n_layers", "depth"}),
      S::integer("time_embed", d.time_embed, 2, 4096, "size of the sinusoidal time embedding"),
      S::integer("pretrain_steps", d.pretrain_steps, 0, 1e8, "flow-matching pre-training steps"),
      S::integer("pretrain_batch", d.pretrain_batch, 1, 1 << 20, "pre-training batch size"),
      S::real("pretrain_lr", d.pretrain_lr, 0.0, 10.0, "pre-training learning rate").excluding_min().with_aliases({"lr", "learning_rate"}),
      S::real("p_uncond", d.p_uncond, 0.0, 1.0, "probability of dropping the condition in pre-training"),
      S::choice("t_sampling", d.t_sampling, {"uniform", "logit_normal"}, "pre-training time distribution"),
  };
}

ToyConfig ToyConfig::from(const SettingValues& v) {
  ToyConfig c;
  c.dim = static_cast<int>(v.get_int("dim"));
  c.classes = static_cast<int>(v.get_int("classes"));
  c.modes_per_class = static_cast<int>(v.get_int("modes_per_class"));
  c.mode_std = v.get_real("mode_std");
  c.hidden = static_cast<int>(v.get_int("hidden"));
  c.layers = static_cast<int>(v.get_int("layers"));
  c.time_embed = static_cast<int>(v.get_int("time_embed"));
  c.pretrain_steps = v.get_int("pretrain_steps");
  c.pretrain_batch = v.get_int("pretrain_batch");
  c.pretrain_lr = v.get_real("pretrain_lr");
  c.p_uncond = v.get_real("p_uncond");
  c.t_sampling = v.get_string("t_sampling");
  return c;
}

GaussianMixture ToyConfig::mixture() const { return GaussianMixture::make(dim, classes, modes_per_class, mode_std); }

ToyVelocityNetImpl::ToyVelocityNetImpl(int dim, int classes, int hidden, int layers, int time_embed)
    : time_embed_(time_embed) {
  const int half = std::max(1, time_embed / 2);
  // Frequencies from 1 to 100 per unit time: smooth in t yet able to tell steps apart.
  freqs_ = register_buffer("freqs", at::exp(at::linspace(0.0, std::log(100.0), half, at::kFloat)));
  cond_embed_ = register_module("cond_embed", torch::nn::Embedding(classes + 1, time_embed));
  int in = dim + 2 * half + time_embed;
  for (int l = 0; l < layers; ++l) {
    hidden_->push_back(torch::nn::Linear(in, hidden));
    in = hidden;
  }
  register_module("hidden", hidden_);
  out_ = register_module("out", torch::nn::Linear(in, dim));
}

at::Tensor ToyVelocityNetImpl::time_features(const at::Tensor& t) const {
  at::Tensor angles = t.to(at::kFloat).unsqueeze(1) * freqs_.unsqueeze(0);
  return at::cat({at::sin(angles), at::cos(angles)}, 1);
}

at::Tensor ToyVelocityNetImpl::forward_times(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) {
  at::Tensor h = at::cat({x, time_features(t), cond_embed_->forward(cond)}, 1);
  for (auto& layer : *hidden_) h = at::silu(layer->as<torch::nn::Linear>()->forward(h));
  return out_->forward(h);
}

at::Tensor ToyVelocityNetImpl::forward(const at::Tensor& x, double t, const at::Tensor& cond) {
  return forward_times(x, at::full({x.size(0)}, t, x.options()), cond);
}

ToyVelocityNet make_velocity_net(const ToyConfig& config) {
  return ToyVelocityNet(config.dim, config.classes, config.hidden, config.layers, config.time_embed);
}

PretrainReport pretrain(ToyVelocityNet& net, const GaussianMixture& mixture, const ToyConfig& config,
                        std::uint64_t seed) {
  const auto start = Clock::now();
  at::Generator gen = at::detail::createCPUGenerator(seed);
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(config.pretrain_lr).weight_decay(0.0));
  const int64_t steps = config.pretrain_steps, batch = config.pretrain_batch;
  const int64_t tail = std::max<int64_t>(1, steps / 10);
  double tail_loss = 0;
  net->train();
  for (int64_t step = 0; step < steps; ++step) {
    // Cosine decay to 10%: the last steps polish the fit instead of jittering.
    const double lr = config.pretrain_lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(kPi * step / steps)));
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    at::Tensor cond = at::randint(mixture.classes, {batch}, gen, at::kLong);
    at::Tensor x0 = mixture.sample(cond, gen);
    at::Tensor eps = at::randn({batch, mixture.dim}, gen, at::kFloat);
    at::Tensor t = config.t_sampling == "logit_normal" ? at::sigmoid(at::randn({batch}, gen, at::kFloat))
                                                        : at::rand({batch}, gen, at::kFloat);
    at::Tensor drop = at::rand({batch}, gen, at::kFloat) < config.p_uncond;
    cond = at::where(drop, at::full_like(cond, mixture.null_condition()), cond);
    at::Tensor tt = t.unsqueeze(1);
    at::Tensor xt = (1 - tt) * x0 + tt * eps;
    at::Tensor loss = (net->forward_times(xt, t, cond) - (eps - x0)).pow(2).mean();
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step >= steps - tail) tail_loss += loss.item<double>();
  }
  net->eval();
  PretrainReport report;
  report.final_loss = steps > 0 ? tail_loss / static_cast<double>(std::min(tail, steps)) : 0.0;
  report.seconds = since(start);
  return report;
}

std::string backbone_cache_key(const ToyConfig& c) {
  std::ostringstream text;
  text.precision(17);
  text << "toy-gmm v1|toy-gmm|" << c.dim << '|' << c.classes << '|' << c.modes_per_class << '|'
       << c.mode_std << '|' << c.hidden << '|' << c.layers << '|' << c.time_embed << '|' << c.pretrain_steps << '|'
       << c.pretrain_batch << '|' << c.pretrain_lr << '|' << c.p_uncond << '|' << c.t_sampling << '|'
       << kMixtureSeed << '|' << kPretrainSeed;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(text.str())));
  return hex;
}

namespace {

bool try_load(ToyVelocityNet& net, const std::string& path, const std::string& tag, std::string& why) {
  std::string payload;
  if (!read_sealed_file(path, tag, payload, why)) return false;
  try {
    std::istringstream in(payload);
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    net->load(archive);
  } catch (const std::exception& e) {
    why = std::string("unreadable model: ") + e.what();
    return false;
  }
  return true;
}

}  // namespace

ToyBackbone load_or_pretrain(const ToyConfig& config, const std::string& cache_dir, BackboneLoadInfo* info) {
  const auto start = Clock::now();
  ToyBackbone bb;
  bb.mixture = config.mixture();
  const std::string key = backbone_cache_key(config);
  const std::string path = cache_dir + "/toy-gmm-" + key + ".bin";
  const std::string tag = "toy-gmm backbone " + key;
  BackboneLoadInfo local;
  BackboneLoadInfo& out = info ? *info : local;
  out = BackboneLoadInfo{};
  out.path = path;
  bb.net = make_velocity_net(config);
  std::string why;
  if (try_load(bb.net, path, tag, why)) {
    out.from_cache = true;
  } else {
    if (why != "missing") out.rejected = why;
    // Initialisation draws from the global generator: seed it so the weights are a
    // function of the settings alone.
    at::manual_seed(kPretrainSeed);
    bb.net = make_velocity_net(config);
    pretrain(bb.net, bb.mixture, config);
    std::ostringstream payload;
    torch::serialize::OutputArchive archive;
    bb.net->save(archive);
    archive.save_to(payload);
    make_dirs(cache_dir);
    write_sealed_file(path, tag, payload.str());
  }
  bb.net->eval();
  out.seconds = since(start);
  return bb;
}

std::vector<std::string> toy_quality_columns() { return {"quality_logp", "mode_coverage"}; }

// quality_logp: the mean exact log p(x | c). mode_coverage: the fraction of a class's
// modes holding at least a tenth of a fair share of its samples within 3σ√d of their
// centre, averaged over the classes present.
std::vector<double> toy_quality(const GaussianMixture& mixture, const at::Tensor& x_in, const at::Tensor& cond) {
  at::NoGradGuard no_grad;
  const at::Tensor x = x_in.to(at::kDouble);
  at::Tensor d_all = (x.unsqueeze(1) - mixture.means.index({cond}).to(at::kDouble)).pow(2).sum(-1).sqrt();
  auto [d_min, which] = d_all.min(1);  // nearest mode of the sample's own class
  const double radius = 3.0 * mixture.mode_std * std::sqrt(static_cast<double>(mixture.dim));
  at::Tensor hit = d_min < radius;
  double coverage = 0;
  int classes_seen = 0;
  for (int c = 0; c < mixture.classes; ++c) {
    at::Tensor mine = cond == c;
    const int64_t n = mine.sum().item<int64_t>();
    if (n == 0) continue;
    at::Tensor counts = at::bincount(which.masked_select(mine & hit), {}, mixture.modes_per_class);
    const double need = 0.1 * static_cast<double>(n) / mixture.modes_per_class;
    coverage += (counts.to(at::kDouble) >= std::max(1.0, need)).to(at::kDouble).mean().item<double>();
    ++classes_seen;
  }
  return {mixture.log_density(x, cond).mean().item<double>(), classes_seen ? coverage / classes_seen : 0.0};
}

}  // namespace flowbp
