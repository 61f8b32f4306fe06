// A class-conditional DiT velocity model (Peebles & Xie, "Scalable Diffusion Models
// with Transformers"): patchify, 2-D sin-cos positional embedding, sinusoidal time
// embedding → MLP, class embedding with a null class for classifier-free guidance,
// adaLN-Zero transformer blocks (multi-head self-attention written with matmul and
// softmax, MLP), a final adaLN layer and unpatchify. Device- and dtype-agnostic: it
// runs on CUDA and under bf16 autocast (attention softmax in float32).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <string>

namespace flowbp {

struct DitConfig {
  std::int64_t image_size = 28;  // H = W
  std::int64_t channels = 1;
  std::int64_t patch = 4;        // must divide image_size
  std::int64_t width = 128;      // token dimension
  std::int64_t depth = 4;        // transformer blocks
  std::int64_t heads = 4;        // must divide width
  double mlp_ratio = 4.0;
  std::int64_t classes = 10;     // condition ids 0..classes−1; `classes` is the null class
  std::int64_t time_freq_dim = 256;  // sinusoidal features before the time MLP
  bool learned_pos = false;      // false: fixed 2-D sin-cos buffer; true: a parameter initialised to it

  std::int64_t grid() const { return image_size / patch; }
  std::int64_t tokens() const { return grid() * grid(); }
  std::int64_t head_dim() const { return width / heads; }
  std::int64_t mlp_hidden() const;
  std::int64_t null_class() const { return classes; }
  // Throws std::invalid_argument naming the setting (e.g. patch not dividing the size).
  void validate() const;
  // Every field, for cache keys and logs: "image_size=28 channels=1 …".
  std::string describe() const;
};

// "tiny" (tests: width 64, depth 2, patch 7), "small" (the CPU default: width 128,
// depth 4, patch 4), "base" (a GPU: width 384, depth 12, patch 2). Throws
// std::invalid_argument for another name, listing the valid ones. The patch sizes
// suit 28×28: for another image_size set patch to a divisor (validate() checks).
DitConfig dit_size(const std::string& name, std::int64_t image_size = 28, std::int64_t channels = 1,
                   std::int64_t classes = 10);

// Width and depth near SD3.5-Medium's transformer (width 1536, depth 24, 24 heads,
// patch 2) on a 64×64×16 latent: random weights, for memory and time measurements only.
DitConfig dit_scale_config(std::int64_t classes = 1000);

class DitBlockImpl : public torch::nn::Module {
 public:
  DitBlockImpl(std::int64_t width, std::int64_t heads, std::int64_t mlp_hidden);
  // x [B, N, D] tokens, c [B, D] the conditioning vector (time + class).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& c);
  at::Tensor attention(const at::Tensor& x);

 private:
  std::int64_t heads_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr}, ada_{nullptr};
};
TORCH_MODULE(DitBlock);

class DitModelImpl : public torch::nn::Module {
 public:
  explicit DitModelImpl(const DitConfig& config);

  // v(x, t, c): x [B, C, H, W], t float [B] in [0, 1] (1 = noise), cond int64 [B] in
  // [0, classes] (classes = null). Returns the velocity with x's shape and dtype.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond);
  // One time for the whole batch (the sampler's case).
  at::Tensor forward(const at::Tensor& x, double t, const at::Tensor& cond);

  const DitConfig& config() const { return config_; }
  std::int64_t parameter_count() const;

  at::Tensor patchify(const at::Tensor& x);        // [B, C, H, W] → [B, N, D]
  at::Tensor unpatchify(const at::Tensor& tokens);  // [B, N, p·p·C] → [B, C, H, W]
  at::Tensor time_features(const at::Tensor& t) const;  // [B] → [B, time_freq_dim]

 private:
  void initialize();
  DitConfig config_;
  at::Tensor freqs_;  // buffer: frequencies of the time embedding
  at::Tensor pos_;    // [1, N, D]: buffer (fixed) or parameter (learned_pos)
  torch::nn::Conv2d patch_embed_{nullptr};
  torch::nn::Linear t_fc1_{nullptr}, t_fc2_{nullptr};
  torch::nn::Embedding class_embed_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Linear final_ada_{nullptr}, final_out_{nullptr};
};
TORCH_MODULE(DitModel);

// A DiT whose initial weights are a function of (config, seed) alone: the global
// generator is seeded with `seed` before the layers are built.
DitModel make_dit(const DitConfig& config, std::uint64_t seed);

// A copy with its own storage, same device and dtype (e.g. the EMA model).
DitModel clone_dit(DitModel& model);
// dst's parameters and buffers := src's (same config).
void copy_dit_weights(DitModel& dst, DitModel& src);

// The 2-D sin-cos positional embedding of MAE/DiT, float32 [grid·grid, dim].
at::Tensor sincos_pos_embed_2d(std::int64_t dim, std::int64_t grid);

}  // namespace flowbp
