#include "dit_settings.h"

#include "fashion_mnist.h"

namespace flowbp {

namespace {

using S = SettingSpec;

constexpr std::int64_t kScaleClasses = 1000;

// The model of a size without overrides: the Fashion-MNIST presets, or the SD3.5-M-like
// latent transformer.
DitConfig preset(const std::string& size) {
  return size == "scale" ? dit_scale_config(kScaleClasses) : dit_size(size);
}

SettingError bad(const std::string& key, const std::string& message) {
  return SettingError("backbone." + key, "backbone." + key + ": " + message);
}

}  // namespace

std::vector<SettingSpec> dit_settings() {
  return {
      S::path("data_dir", kFashionMnistDir,
              "folder of the four Fashion-MNIST .gz IDX files (Debian: dataset-fashion-mnist)")
          .with_aliases({"data", "dataset", "data_path"}),
      S::choice("size", "small", {"tiny", "small", "base", "scale"},
                "tiny (tests), small (the CPU default), base (a GPU), scale (SD3.5-M-like, 64x64x16 latent, "
                "random weights)")
          .with_aliases({"model_size", "preset"}),
      S::integer("width", 0, 0, 65536, "token width (0 = the size's: 64, 128, 384, 1536)").with_aliases({"hidden", "dim"}),
      S::integer("depth", 0, 0, 1024, "transformer blocks (0 = the size's: 2, 4, 12, 24)").with_aliases({"layers", "blocks"}),
      S::integer("heads", 0, 0, 1024, "attention heads, must divide width (0 = the size's: 4, 4, 6, 24)")
          .with_aliases({"num_heads"}),
      S::integer("patch", 0, 0, 64, "patch size, must divide the image size (0 = the size's: 7, 4, 2, 2)")
          .with_aliases({"patch_size"}),
      S::boolean("pretrained", true,
                 "false: random weights, no data and no pre-training (memory and time measurements; size = "
                 "\"scale\" needs it)")
          .with_aliases({"pretrain", "random_weights"}),
      S::integer("pretrain_steps", 0, 0, 1e9, "rectified-flow pre-training steps (0 = the size's recipe: 300, 4000, 40000)"),
      S::integer("pretrain_batch", 0, 0, 1 << 20, "pre-training batch (0 = the size's recipe: 64, 128, 256)"),
      S::real("pretrain_lr", 0.0, 0.0, 1.0, "pre-training AdamW learning rate (0 = the size's recipe: 2e-3, 1e-3, 3e-4)"),
      S::integer("pretrain_warmup", -1, -1, 1e9, "linear warm-up steps before the cosine (-1 = the size's recipe: 30, 200, 1000)"),
      S::real("pretrain_ema_decay", 0.0, 0.0, 0.999999,
              "EMA decay of the pre-trained weights (0 = the size's recipe: 0.99, 0.999, 0.9999)"),
      S::real("p_uncond", 0.1, 0.0, 0.99, "condition dropout (to the null class) for classifier-free guidance"),
      S::choice("t_sampling", "logit_normal", {"logit_normal", "uniform"}, "pre-training time distribution"),
      S::integer("pretrain_seed", 1, 0, 9.2e18, "initial weights and every pre-training draw"),
  };
}

std::int64_t dit_conditions(const SettingValues& settings) {
  return settings.get_string("size") == "scale" ? kScaleClasses : kFashionMnistClasses;
}

DitKindConfig DitKindConfig::from(const SettingValues& s) {
  DitKindConfig k;
  k.data_dir = s.get_string("data_dir");
  k.size = s.get_string("size");
  k.pretrained = s.get_bool("pretrained");
  if (k.size == "scale" && k.pretrained)
    throw bad("pretrained", "size \"scale\" is a 64x64x16 latent model without data to pre-train on: set "
                            "backbone.pretrained = false (random weights, for memory and time measurements)");
  DitConfig m = preset(k.size);
  for (const char* key : {"width", "depth", "heads", "patch"}) {
    const std::int64_t v = s.get_int(key);
    if (v == 0) continue;
    const std::string name = key;
    (name == "width" ? m.width : name == "depth" ? m.depth : name == "heads" ? m.heads : m.patch) = v;
  }
  if (m.width % 4 != 0)
    throw bad("width", std::to_string(m.width) + " must be a multiple of 4 (the 2-D sin-cos position embedding)");
  if (m.width % m.heads != 0)
    throw bad("heads", std::to_string(m.heads) + " must divide width " + std::to_string(m.width));
  if (m.image_size % m.patch != 0)
    throw bad("patch", std::to_string(m.patch) + " must divide the image size " + std::to_string(m.image_size));
  k.model = m;

  // The size's measured recipe (scale has none: it never pre-trains) with the overrides.
  k.pretrain = dit_pretrain_recipe(k.size == "scale" ? "tiny" : k.size);
  k.pretrain.model = m;
  if (s.get_int("pretrain_steps") > 0) k.pretrain.steps = s.get_int("pretrain_steps");
  if (s.get_int("pretrain_batch") > 0) k.pretrain.batch = s.get_int("pretrain_batch");
  if (s.get_real("pretrain_lr") > 0) k.pretrain.lr = s.get_real("pretrain_lr");
  if (s.get_int("pretrain_warmup") >= 0) k.pretrain.warmup = s.get_int("pretrain_warmup");
  if (s.get_real("pretrain_ema_decay") > 0) k.pretrain.ema_decay = s.get_real("pretrain_ema_decay");
  k.pretrain.p_uncond = s.get_real("p_uncond");
  k.pretrain.t_sampling = s.get_string("t_sampling");
  k.pretrain.seed = static_cast<std::uint64_t>(s.get_int("pretrain_seed"));
  if (k.pretrain.warmup > k.pretrain.steps)
    throw bad("pretrain_warmup", std::to_string(k.pretrain.warmup) + " warm-up steps exceed the " +
                                     std::to_string(k.pretrain.steps) + " pre-training steps");
  return k;
}

void check_dit_settings(const SettingValues& settings, const KindCheckContext&) {
  const DitKindConfig k = DitKindConfig::from(settings);
  if (!k.pretrained) return;  // random weights read no data
  try {
    check_fashion_mnist(k.data_dir);
  } catch (const DataError& e) {
    throw bad("data_dir", e.what());
  }
}

}  // namespace flowbp
