// Backbone kinds: the generators a run can train (the built-in toy, a user's
// TorchScript model, the image DiT, …), as a registry in the style of the method
// registry. Each kind declares its name and settings (KindInfo, validated by the
// config loader through the Catalog) and loads a Backbone from its resolved settings.
// A new kind is one folder under backbones/ whose source ends in
// FLOWBP_REGISTER_BACKBONE_KIND(MyKind).
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flowbp/catalog.h"
#include "flowbp/experiment.h"
#include "flowbp/velocity_model.h"

namespace flowbp {

struct LatentSpec {
  std::vector<std::int64_t> shape;   // one sample's shape
  std::int64_t null_condition = -1;  // the condition of guidance's unconditional branch; −1: none
  std::vector<std::int64_t> batch_shape(std::int64_t batch) const;
};

// An /eval metric column.
struct MetricColumn {
  std::string name;
  bool lower_is_better = false;
};

// R(x, c), differentiable in x; float [B].
using RewardFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& cond)>;
// Evaluation metrics of samples x drawn for conditions cond, one per metric column.
using ScoreFn = std::function<std::vector<double>(const at::Tensor& x, const at::Tensor& cond)>;
// Samples x as 8-bit images, uint8 [n, H, W, C] on the CPU (C = 1 grey, 3 RGB): what the
// run log's sample grids hold.
using ImageFn = std::function<at::Tensor(const at::Tensor& x)>;

// What a backbone kind shares with the reward kinds about its data (the toy's mixture,
// an image dataset). A reward kind receives it through the Backbone and checks its
// type; it never includes a backbone kind's headers.
class Domain {
 public:
  virtual ~Domain();
};

struct Backbone {
  std::string kind;
  std::shared_ptr<VelocityModel> base;  // the pre-trained model, on the run's device
  LatentSpec latents;
  std::int64_t conditions = 1;          // condition ids 0..conditions-1
  std::shared_ptr<const Domain> domain; // nullptr when the kind has nothing to share
  // Quality metrics of samples that need only the backbone (e.g. exact log-density).
  std::vector<MetricColumn> metrics;
  ScoreFn score;
  ImageFn images;         // empty when the samples are not images (no sample grids)
  std::string cache_key;  // of a pre-trained cache file; "" when there is none
  std::string note;       // one line for the progress output
};

// Where and how models are loaded.
struct ModelContext {
  std::string cache_dir;  // pre-trained backbones, rewards and evaluators
  c10::Device device = c10::Device(c10::kCPU);
  bool quiet = false;     // no progress lines (pre-training, reward training)
};

class BackboneKind {
 public:
  virtual ~BackboneKind();
  virtual KindInfo info() const = 0;
  // Loads (pre-training and caching when needed) the backbone; throws ConfigError for
  // a setting that fails at load time (a missing file, a model that fails its probe).
  virtual Backbone load(const BackboneConfig& config, const ModelContext& context) const = 0;
};

// The registry. Registration happens when the models library loads.
bool register_backbone_kind(std::unique_ptr<BackboneKind> kind);
std::vector<const BackboneKind*> backbone_kinds();  // sorted by name
// Throws ConfigError with "did you mean" for an unknown name.
const BackboneKind& backbone_kind(const std::string& name);
Backbone load_backbone(const BackboneConfig& config, const ModelContext& context);

}  // namespace flowbp

#define FLOWBP_REGISTER_BACKBONE_KIND(KindClass)                                        \
  namespace {                                                                          \
  [[maybe_unused]] const bool flowbp_backbone_kind_registered_ =                       \
      ::flowbp::register_backbone_kind(std::make_unique<KindClass>());                 \
  }
