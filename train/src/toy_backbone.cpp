#include "flowbp/toy_backbone.h"

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

// Fisher–Yates with our own index draw, so the mode layout is the same with any
// standard library.
void seeded_shuffle(std::vector<std::vector<double>>& points, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = points.size(); i > 1; --i) std::swap(points[i - 1], points[rng() % i]);
}

}  // namespace

GaussianMixture GaussianMixture::make(const BackboneConfig& config, std::uint64_t seed) {
  GaussianMixture g;
  g.dim = static_cast<int>(config.dim);
  g.classes = static_cast<int>(config.classes);
  g.modes_per_class = static_cast<int>(config.modes_per_class);
  g.mode_std = config.mode_std;
  // Eight standard deviations between neighbours: samples are unambiguous.
  g.spacing = std::max(1.2, 8.0 * g.mode_std);
  const int count = g.classes * g.modes_per_class;
  const int axes = std::min(g.dim, 3);
  // A lattice with about 1.5x the points needed, so the shuffle has a choice.
  int side = 1;
  while (std::pow(side, axes) < 1.5 * count) ++side;
  std::vector<std::vector<double>> points;
  std::vector<int> digit(axes, 0);
  const int total = static_cast<int>(std::lround(std::pow(side, axes)));
  for (int k = 0; k < total; ++k) {
    std::vector<double> p(g.dim, 0.0);
    for (int a = 0, rest = k; a < axes; ++a, rest /= side) p[a] = (rest % side - (side - 1) / 2.0) * g.spacing;
    points.push_back(std::move(p));
  }
  seeded_shuffle(points, seed);
  std::vector<float> flat;
  for (int m = 0; m < count; ++m)
    for (double v : points[m]) flat.push_back(static_cast<float>(v));
  g.means = at::tensor(flat, at::kFloat).reshape({g.classes, g.modes_per_class, g.dim});
  return g;
}

at::Tensor GaussianMixture::sample(const at::Tensor& cond, at::Generator& gen) const {
  const int64_t b = cond.size(0);
  at::Tensor which = at::randint(modes_per_class, {b}, gen, at::kLong);
  at::Tensor centre = means.index({cond, which});
  return centre + at::randn({b, dim}, gen, at::kFloat) * mode_std;
}

at::Tensor GaussianMixture::log_density(const at::Tensor& x, const at::Tensor& cond) const {
  at::Tensor mu = means.index({cond}).to(at::kDouble);            // [B, M, d]
  at::Tensor diff = x.to(at::kDouble).unsqueeze(1) - mu;          // [B, M, d]
  const double var = mode_std * mode_std;
  at::Tensor log_comp = diff.pow(2).sum(-1) * (-0.5 / var) - 0.5 * dim * std::log(2 * kPi * var);
  return at::logsumexp(log_comp, 1) - std::log(static_cast<double>(modes_per_class));
}

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

ToyVelocityNet make_velocity_net(const BackboneConfig& config) {
  return ToyVelocityNet(static_cast<int>(config.dim), static_cast<int>(config.classes),
                        static_cast<int>(config.hidden), static_cast<int>(config.layers),
                        static_cast<int>(config.time_embed));
}

PretrainReport pretrain(ToyVelocityNet& net, const GaussianMixture& mixture, const BackboneConfig& config,
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

std::string backbone_cache_key(const BackboneConfig& c) {
  std::ostringstream text;
  text.precision(17);
  text << "toy-gmm v1|" << c.kind << '|' << c.dim << '|' << c.classes << '|' << c.modes_per_class << '|'
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

ToyBackbone load_or_pretrain(const BackboneConfig& config, const std::string& cache_dir, BackboneLoadInfo* info) {
  const auto start = Clock::now();
  ToyBackbone bb;
  bb.mixture = GaussianMixture::make(config);
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

}  // namespace flowbp
