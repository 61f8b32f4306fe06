// Pre-training the DiT by rectified flow (x_t = (1 − t)·x_0 + t·ε, target ε − x_0,
// t uniform or logit-normal, class dropped to the null class with probability
// p_uncond, AdamW with linear warm-up and cosine decay, gradient clipping, EMA of
// the weights as the result); resumable from a periodic checkpoint and cached under
// a hash of every setting in a sealed, checksummed file. Plus the Euler sampler with
// classifier-free guidance used to evaluate it.
#pragma once
#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "dit_model.h"
#include "flowbp/image_dataset.h"

namespace flowbp {

struct DitPretrainConfig {
  DitConfig model;
  std::int64_t steps = 0, batch = 0, warmup = 0;
  double lr = 0;
  double min_lr_ratio = 0.1;    // the cosine ends at lr·min_lr_ratio
  double weight_decay = 0.0;
  double grad_clip = 1.0;       // max global gradient norm; 0: none
  double ema_decay = 0.999;     // effective decay min(ema_decay, (1+s)/(10+s))
  double p_uncond = 0.1;
  std::string t_sampling = "logit_normal";  // or "uniform"
  std::int64_t train_limit = 0;  // 0: every training image; n: the first n
  std::uint64_t seed = 1;        // initial weights and every batch/noise/t draw
  std::int64_t checkpoint_every = 250;  // steps between resumable checkpoints; 0: none

  void validate() const;         // throws std::invalid_argument naming the setting
  std::string describe() const;  // every field, for cache keys and notes
};

// The measured recipe per DiT size (times and results: docs/IMAGES.md, pretrained/README.md):
// "tiny" (tests, well under a minute), "small" (the CPU default, under an hour on
// two cores), "base" (a GPU).
DitPretrainConfig dit_pretrain_recipe(const std::string& size);

// 16 hex digits over every setting and the data set's fingerprint.
std::string dit_cache_key(const DitPretrainConfig& config, const ImageDataset& data);

struct DitPretrainOptions {
  c10::Device device = c10::Device(c10::kCPU);
  std::string checkpoint_path;   // "" : no checkpoints, no resume
  bool progress = true;          // flowbp::Progress line with ETA on progress_out
  std::FILE* progress_out = stderr;
  std::int64_t stop_after = -1;  // tests: return after this many steps, as a killed run would
};

struct DitPretrainReport {
  double first_loss = 0;    // mean loss over the first 10% of the steps
  double final_loss = 0;    // mean loss over the last 10% of the steps
  std::int64_t resumed_from = 0;  // the step a checkpoint brought back (0: fresh start)
  std::int64_t steps_done = 0;
  bool finished = false;    // false when stop_after ended it early
  std::string rejected_checkpoint;  // why an existing checkpoint was not used ("" if none)
  double seconds = 0;       // this call's wall time
  double total_seconds = 0; // including the runs a checkpoint continued
};

// Trains `model` (on options.device) and leaves the EMA weights in `ema` (same
// config; both in eval mode afterwards). Deterministic in config.seed: a resumed run
// reaches the uninterrupted run's weights.
DitPretrainReport pretrain_dit(DitModel& model, DitModel& ema, const ImageDataset& data,
                               const DitPretrainConfig& config, const DitPretrainOptions& options = {});

// The flow-matching loss of `model` on fixed (seeded) noise and a stratified t grid:
// a before/after measure independent of the training draws.
double evaluate_flow_loss(DitModel& model, const at::Tensor& images, const at::Tensor& labels, std::uint64_t seed);

struct DitLoadInfo {
  std::string path;          // the cache file <cache_dir>/dit-<key>.bin
  std::string key;
  bool from_cache = false;   // false: pre-trained now; true: read from the cache or the shipped copy
  bool shipped = false;      // read from the shipped copy (flowbp/model_cache.h); path says where
  std::string rejected;      // why files that were there were not trusted ("" if none was)
  std::int64_t resumed_from = 0;  // > 0: a checkpoint of a killed pre-training was continued
  double final_loss = 0;     // of the pre-training that made the weights (stored in the cache)
  double pretrain_seconds = 0;
  double seconds = 0;        // this call
};

// The EMA model from the cache or the shipped copy (flowbp/model_cache.h), or pre-trained (resuming <cache_dir>/dit-<key>.ckpt
// when a killed run left one) and written atomically; the checkpoint is removed once
// the cache file is in place. On options.device, eval mode. With options.stop_after
// (tests) an unfinished run returns its EMA model and writes no cache file.
DitModel load_or_pretrain_dit(const DitPretrainConfig& config, const ImageDataset& data, const std::string& cache_dir,
                              DitLoadInfo* info = nullptr, DitPretrainOptions options = {});

// The sampling defaults measured for the small DiT (notes: image-components.md): at
// g = 2 and N = 25 the held-out evaluator's class accuracy is 0.94 with the lowest FID
// of g ∈ {1, 2, 3, 4}; larger g trades FID and diversity for accuracy.
constexpr double kDitDefaultGuidance = 2.0;
constexpr int kDitDefaultSampleSteps = 25;

// Euler from t = 1 (noise) to 0 on Schedule::make(steps, shift), without gradient,
// with classifier-free guidance v = v_u + g·(v_c − v_u) (g = 1: conditional only;
// both branches in one batched forward). cond int64 [B]; returns x_0 like noise.
at::Tensor sample(DitModel& model, const at::Tensor& cond, const at::Tensor& noise, int steps, double guidance,
                  double shift = 1.0);

struct ClassSamples {
  at::Tensor images;  // [classes·per_class, C, H, W] on the model's device
  at::Tensor labels;  // int64, class k for rows k·per_class … (k+1)·per_class − 1
};
// per_class samples of every class, noise from a CPU generator seeded with `seed`
// (same images on any device), in chunks of at most `batch`.
ClassSamples sample_classes(DitModel& model, std::int64_t per_class, int steps, double guidance, std::uint64_t seed,
                            std::int64_t batch = 250, double shift = 1.0);

}  // namespace flowbp
