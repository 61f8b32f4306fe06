#include "dit_model.h"

#include <c10/util/irange.h>
#include <torch/nn/init.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace flowbp {

namespace {

at::Tensor modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale) {
  return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);
}

torch::nn::LayerNorm plain_layer_norm(std::int64_t width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).elementwise_affine(false).eps(1e-6));
}

void xavier(torch::nn::Linear& layer) {
  torch::nn::init::xavier_uniform_(layer->weight);
  torch::nn::init::zeros_(layer->bias);
}

void zero(torch::nn::Linear& layer) {
  torch::nn::init::zeros_(layer->weight);
  torch::nn::init::zeros_(layer->bias);
}

at::Tensor sincos_1d(std::int64_t dim, const at::Tensor& pos) {
  const std::int64_t half = dim / 2;
  at::Tensor omega = at::arange(half, at::kDouble) / static_cast<double>(half);
  omega = 1.0 / at::pow(10000.0, omega);
  at::Tensor out = pos.to(at::kDouble).reshape({-1, 1}) * omega.reshape({1, -1});
  return at::cat({at::sin(out), at::cos(out)}, 1);
}

}  // namespace

std::int64_t DitConfig::mlp_hidden() const {
  return static_cast<std::int64_t>(std::llround(static_cast<double>(width) * mlp_ratio));
}

void DitConfig::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument("DiT config: " + what); };
  if (image_size <= 0 || channels <= 0 || patch <= 0 || width <= 0 || depth <= 0 || heads <= 0 || classes <= 0 ||
      time_freq_dim <= 0)
    bad("image_size, channels, patch, width, depth, heads, classes and time_freq_dim must be positive");
  if (image_size % patch != 0)
    bad("patch = " + std::to_string(patch) + " must divide image_size = " + std::to_string(image_size));
  if (width % heads != 0)
    bad("heads = " + std::to_string(heads) + " must divide width = " + std::to_string(width));
  if (width % 4 != 0) bad("width = " + std::to_string(width) + " must be a multiple of 4 (2-D sin-cos embedding)");
  if (time_freq_dim % 2 != 0) bad("time_freq_dim must be even");
  if (!(mlp_ratio > 0)) bad("mlp_ratio must be positive");
}

std::string DitConfig::describe() const {
  std::ostringstream s;
  s.precision(17);
  s << "image_size=" << image_size << " channels=" << channels << " patch=" << patch << " width=" << width
    << " depth=" << depth << " heads=" << heads << " mlp_ratio=" << mlp_ratio << " classes=" << classes
    << " time_freq_dim=" << time_freq_dim << " learned_pos=" << (learned_pos ? 1 : 0);
  return s.str();
}

DitConfig dit_size(const std::string& name, std::int64_t image_size, std::int64_t channels, std::int64_t classes) {
  DitConfig c;
  c.image_size = image_size;
  c.channels = channels;
  c.classes = classes;
  if (name == "tiny") {
    c.patch = 7;
    c.width = 64;
    c.depth = 2;
    c.heads = 4;
    c.time_freq_dim = 64;
  } else if (name == "small") {
    c.patch = 4;
    c.width = 128;
    c.depth = 4;
    c.heads = 4;
    c.time_freq_dim = 128;
  } else if (name == "base") {
    c.patch = 2;
    c.width = 384;
    c.depth = 12;
    c.heads = 6;
    c.time_freq_dim = 256;
  } else {
    throw std::invalid_argument("DiT size '" + name + "': expected \"tiny\", \"small\" or \"base\"");
  }
  return c;
}

DitConfig dit_scale_config(std::int64_t classes) {
  DitConfig c;
  c.image_size = 64;
  c.channels = 16;
  c.patch = 2;
  c.width = 1536;
  c.depth = 24;
  c.heads = 24;
  c.mlp_ratio = 4.0;
  c.classes = classes;
  c.time_freq_dim = 256;
  c.validate();
  return c;
}

at::Tensor sincos_pos_embed_2d(std::int64_t dim, std::int64_t grid) {
  at::Tensor coords = at::arange(grid, at::kDouble);
  // Row-major tokens: token k sits at (row k / grid, column k % grid).
  at::Tensor rows = coords.repeat_interleave(grid);
  at::Tensor cols = coords.repeat({grid});
  return at::cat({sincos_1d(dim / 2, cols), sincos_1d(dim / 2, rows)}, 1).to(at::kFloat);
}

DitBlockImpl::DitBlockImpl(std::int64_t width, std::int64_t heads, std::int64_t mlp_hidden) : heads_(heads) {
  norm1_ = register_module("norm1", plain_layer_norm(width));
  qkv_ = register_module("qkv", torch::nn::Linear(width, 3 * width));
  proj_ = register_module("proj", torch::nn::Linear(width, width));
  norm2_ = register_module("norm2", plain_layer_norm(width));
  fc1_ = register_module("fc1", torch::nn::Linear(width, mlp_hidden));
  fc2_ = register_module("fc2", torch::nn::Linear(mlp_hidden, width));
  ada_ = register_module("ada", torch::nn::Linear(width, 6 * width));
  xavier(qkv_);
  xavier(proj_);
  xavier(fc1_);
  xavier(fc2_);
  zero(ada_);  // adaLN-Zero: every block starts as the identity
}

at::Tensor DitBlockImpl::attention(const at::Tensor& x) {
  const std::int64_t b = x.size(0), n = x.size(1), d = x.size(2), hd = d / heads_;
  at::Tensor qkv = qkv_->forward(x).reshape({b, n, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
  at::Tensor q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(hd)));
  at::Tensor k = qkv[1], v = qkv[2];
  // Softmax in float32 whatever the autocast dtype of the scores; back to v's dtype.
  at::Tensor weights = at::softmax(at::matmul(q, k.transpose(-2, -1)), -1, at::kFloat).to(v.scalar_type());
  at::Tensor out = at::matmul(weights, v).transpose(1, 2).reshape({b, n, d});
  return proj_->forward(out);
}

at::Tensor DitBlockImpl::forward(const at::Tensor& x, const at::Tensor& c) {
  std::vector<at::Tensor> m = ada_->forward(at::silu(c)).chunk(6, 1);
  at::Tensor h = x + m[2].unsqueeze(1) * attention(modulate(norm1_->forward(x), m[0], m[1]));
  at::Tensor y = fc2_->forward(at::gelu(fc1_->forward(modulate(norm2_->forward(h), m[3], m[4])), "tanh"));
  return h + m[5].unsqueeze(1) * y;
}

DitModelImpl::DitModelImpl(const DitConfig& config) : config_(config) {
  config_.validate();
  const std::int64_t w = config_.width, half = config_.time_freq_dim / 2;
  freqs_ = register_buffer(
      "freqs", at::exp(at::arange(half, at::kFloat) * (-std::log(10000.0) / static_cast<double>(half))));
  at::Tensor pos = sincos_pos_embed_2d(w, config_.grid()).unsqueeze(0);
  pos_ = config_.learned_pos ? register_parameter("pos", pos) : register_buffer("pos", pos);
  patch_embed_ = register_module(
      "patch_embed",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(config_.channels, w, config_.patch).stride(config_.patch)));
  t_fc1_ = register_module("t_fc1", torch::nn::Linear(config_.time_freq_dim, w));
  t_fc2_ = register_module("t_fc2", torch::nn::Linear(w, w));
  class_embed_ = register_module("class_embed", torch::nn::Embedding(config_.classes + 1, w));
  for (std::int64_t i = 0; i < config_.depth; ++i)
    blocks_->push_back(DitBlock(w, config_.heads, config_.mlp_hidden()));
  register_module("blocks", blocks_);
  final_norm_ = register_module("final_norm", plain_layer_norm(w));
  final_ada_ = register_module("final_ada", torch::nn::Linear(w, 2 * w));
  final_out_ = register_module("final_out",
                               torch::nn::Linear(w, config_.patch * config_.patch * config_.channels));
  initialize();
}

void DitModelImpl::initialize() {
  at::NoGradGuard no_grad;
  // The patch embedding as the linear map it is: Xavier over [width, C·p·p].
  torch::nn::init::xavier_uniform_(patch_embed_->weight.view({config_.width, -1}));
  torch::nn::init::zeros_(patch_embed_->bias);
  torch::nn::init::normal_(t_fc1_->weight, 0.0, 0.02);
  torch::nn::init::zeros_(t_fc1_->bias);
  torch::nn::init::normal_(t_fc2_->weight, 0.0, 0.02);
  torch::nn::init::zeros_(t_fc2_->bias);
  torch::nn::init::normal_(class_embed_->weight, 0.0, 0.02);
  zero(final_ada_);
  zero(final_out_);
}

at::Tensor DitModelImpl::time_features(const at::Tensor& t) const {
  // DiT's embedding of t·1000: frequencies 1 … 1/10000 per unit of the 1000-step scale.
  at::Tensor args = t.to(freqs_.device(), at::kFloat).unsqueeze(1) * 1000.0 * freqs_.unsqueeze(0);
  return at::cat({at::cos(args), at::sin(args)}, 1);
}

at::Tensor DitModelImpl::patchify(const at::Tensor& x) {
  return patch_embed_->forward(x).flatten(2).transpose(1, 2);
}

at::Tensor DitModelImpl::unpatchify(const at::Tensor& tokens) {
  const std::int64_t b = tokens.size(0), g = config_.grid(), p = config_.patch, c = config_.channels;
  return tokens.reshape({b, g, g, p, p, c}).permute({0, 5, 1, 3, 2, 4}).reshape({b, c, g * p, g * p});
}

at::Tensor DitModelImpl::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == config_.channels && x.size(2) == config_.image_size &&
                  x.size(3) == config_.image_size,
              "DiT: x must be [B, ", config_.channels, ", ", config_.image_size, ", ", config_.image_size, "], got ",
              x.sizes());
  TORCH_CHECK(t.dim() == 1 && t.size(0) == x.size(0), "DiT: t must be [B] with B = ", x.size(0), ", got ", t.sizes());
  TORCH_CHECK(cond.dim() == 1 && cond.size(0) == x.size(0), "DiT: cond must be [B] with B = ", x.size(0), ", got ",
              cond.sizes());
  at::Tensor h = patchify(x) + pos_;
  at::Tensor temb = t_fc2_->forward(at::silu(t_fc1_->forward(time_features(t))));
  at::Tensor c = temb + class_embed_->forward(cond.to(x.device(), at::kLong));
  for (auto& block : *blocks_) h = block->as<DitBlock>()->forward(h, c);
  std::vector<at::Tensor> m = final_ada_->forward(at::silu(c)).chunk(2, 1);
  at::Tensor out = final_out_->forward(modulate(final_norm_->forward(h), m[0], m[1]));
  return unpatchify(out).to(x.scalar_type());
}

at::Tensor DitModelImpl::forward(const at::Tensor& x, double t, const at::Tensor& cond) {
  return forward(x, at::full({x.size(0)}, t, x.options().dtype(at::kFloat)), cond);
}

std::int64_t DitModelImpl::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

DitModel make_dit(const DitConfig& config, std::uint64_t seed) {
  at::manual_seed(seed);
  return DitModel(config);
}

void copy_dit_weights(DitModel& dst, DitModel& src) {
  at::NoGradGuard no_grad;
  auto dp = dst->named_parameters(), sp = src->named_parameters();
  TORCH_CHECK(dp.size() == sp.size(), "copy_dit_weights: different architectures");
  for (const auto& item : sp) dp[item.key()].copy_(item.value());
  auto db = dst->named_buffers(), sb = src->named_buffers();
  for (const auto& item : sb) db[item.key()].copy_(item.value());
}

DitModel clone_dit(DitModel& model) {
  DitModel copy(model->config());
  const at::Tensor first = model->parameters().front();
  copy->to(first.device(), first.scalar_type());
  copy_dit_weights(copy, model);
  copy->train(model->is_training());
  return copy;
}

}  // namespace flowbp
