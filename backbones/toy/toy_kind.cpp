// backbone.kind = "toy-gmm": the Gaussian-mixture toy in the backbone registry, with
// the quality metrics that need only the mixture (exact log-density, mode coverage).
#include <ATen/ATen.h>

#include <sstream>

#include "flowbp/backbone.h"
#include "toy_backbone.h"

namespace flowbp {

namespace {

// The toy's closed-form pieces live on the CPU: a model on a GPU hands them its samples.
at::Tensor on_cpu(const at::Tensor& t) { return t.device().is_cpu() ? t : t.cpu(); }

class ToyKind final : public BackboneKind {
 public:
  KindInfo info() const override {
    KindInfo k;
    k.name = "toy-gmm";
    k.summary = "class-conditional Gaussian mixture in d dimensions, MLP velocity, exact log-density";
    k.settings = toy_settings();
    k.default_reward = "mode-preference";
    k.conditions = [](const SettingValues& s) { return s.get_int("classes"); };
    return k;
  }

  Backbone load(const BackboneConfig& config, const ModelContext& context) const override {
    const ToyConfig toy_config = ToyConfig::from(config.settings);
    BackboneLoadInfo info;
    ToyBackbone toy = load_or_pretrain(toy_config, context.cache_dir, &info);
    auto mixture = std::make_shared<GaussianMixture>(toy.mixture);

    Backbone b;
    b.base = wrap_toy(toy.net, toy_config);
    b.base->to(context.device);
    b.latents = {{mixture->dim}, mixture->null_condition()};
    b.conditions = mixture->classes;
    b.domain = mixture;
    for (const auto& name : toy_quality_columns()) b.metrics.push_back({name, false});
    b.score = [mixture](const at::Tensor& x, const at::Tensor& cond) {
      return toy_quality(*mixture, on_cpu(x), on_cpu(cond));
    };
    b.cache_key = backbone_cache_key(toy_config);
    std::ostringstream note;
    note.precision(3);
    if (info.from_cache)
      note << "backbone: loaded " << info.path;
    else
      note << "backbone: pre-trained in " << info.seconds << " s"
           << (info.rejected.empty() ? "" : " (the cache was " + info.rejected + ", rebuilt)") << ", cached at "
           << info.path;
    b.note = note.str();
    return b;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_BACKBONE_KIND(flowbp::ToyKind)
