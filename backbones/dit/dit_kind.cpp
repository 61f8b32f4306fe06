// backbone.kind = "dit": the class-conditional DiT on Fashion-MNIST in the backbone
// registry. It pre-trains (or finds the cached or shipped weights), loads the held-out
// evaluator for its quality metrics (fid, accuracy, diversity: they depend on the
// samples alone) and shares both with the image reward kinds as an ImageDomain.
// With pretrained = false it is a random-weight model without data (the scaling runs).
#include <ATen/ATen.h>

#include <sstream>

#include "dit_settings.h"
#include "dit_velocity.h"
#include "fashion_mnist.h"
#include "flowbp/backbone.h"
#include "flowbp/image_evaluator.h"
#include "flowbp/progress.h"

namespace flowbp {

namespace {

std::string count_text(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// [-1, 1] → the data's own 8-bit scale (pixel = (x + 1)·127.5), [n, H, W, C].
at::Tensor to_uint8_images(const at::Tensor& x) {
  at::NoGradGuard no_grad;
  return ((x.detach().to(at::kFloat).clamp(-1, 1) + 1) * 127.5).round().to(at::kByte).permute({0, 2, 3, 1})
      .contiguous()
      .cpu();
}

std::string model_note(const DitKindConfig& k, DitModel& model) {
  std::ostringstream s;
  s << "backbone: DiT " << k.size << " (" << count_text(model->parameter_count()) << " parameters, " << k.model.tokens()
    << " tokens of " << k.model.channels << "x" << k.model.image_size << "x" << k.model.image_size << ")";
  return s.str();
}

class DitKind final : public BackboneKind {
 public:
  KindInfo info() const override {
    KindInfo k;
    k.name = "dit";
    k.summary = "class-conditional DiT (adaLN-Zero) on Fashion-MNIST, rectified-flow pre-training; image metrics";
    k.settings = dit_settings();
    k.default_reward = "classifier";
    k.conditions = dit_conditions;
    // FLUX's dynamic shift reads the transformer's sequence length: the DiT's patch tokens.
    k.image_seq_len = [](const SettingValues& s) { return DitKindConfig::from(s).model.tokens(); };
    k.check = check_dit_settings;
    return k;
  }

  Backbone load(const BackboneConfig& config, const ModelContext& context) const override {
    const DitKindConfig k = DitKindConfig::from(config.settings);
    Backbone b;
    b.latents = {{k.model.channels, k.model.image_size, k.model.image_size}, k.model.null_class()};
    b.conditions = k.model.classes;
    if (!k.pretrained) {
      DitModel model = make_dit(k.model, k.pretrain.seed);
      model->to(context.device);
      b.note = model_note(k, model) + ", random weights (backbone.pretrained = false)";
      b.base = wrap_dit(model);
      return b;
    }

    auto data = std::make_shared<ImageDataset>();
    try {
      *data = load_fashion_mnist(k.data_dir);
    } catch (const DataError& e) {
      // The headers were checked with the config; this is damage inside a file.
      throw ConfigError(e.what());
    }
    DitLoadInfo info;
    DitPretrainOptions options;
    options.device = context.device;
    options.progress = !context.quiet;
    DitModel model = load_or_pretrain_dit(k.pretrain, *data, context.cache_dir, &info, options);
    EvaluatorLoadInfo eval_info;
    auto evaluator = std::make_shared<HeldOutEvaluator>(load_or_train_evaluator(
        *data, context.cache_dir, &eval_info, evaluator_recipe(), TrainSplit::kFirstHalf, context.device, !context.quiet));

    auto domain = std::make_shared<ImageDomain>();
    domain->data = data;
    domain->evaluator = evaluator;
    b.domain = domain;
    b.metrics = {{"fid", true}, {"accuracy", false}, {"diversity", false}};
    b.score = [evaluator](const at::Tensor& x, const at::Tensor& cond) {
      const ImageEvalScores s = evaluator->score(x, cond);
      return std::vector<double>{s.fid, s.accuracy, s.diversity};
    };
    b.images = to_uint8_images;
    b.cache_key = info.key;

    std::ostringstream note;
    note.precision(4);
    note << model_note(k, model);
    if (info.from_cache)
      note << ", loaded " << (info.shipped ? "the shipped " : "") << info.path << " (pre-trained in "
           << format_duration(info.pretrain_seconds) << ", final loss " << info.final_loss << ")";
    else
      note << ", pre-trained in " << format_duration(info.pretrain_seconds)
           << (info.resumed_from > 0 ? " (resumed at step " + std::to_string(info.resumed_from) + ")" : "")
           << ", final loss " << info.final_loss << ", cached at " << info.path;
    if (!info.rejected.empty()) note << "; not trusted: " << info.rejected;
    note << "\nevaluator: held-out " << arch_name(evaluator_recipe().arch) << ", test accuracy "
         << eval_info.classifier.test_accuracy
         << (eval_info.classifier.shipped      ? ", loaded the shipped "
             : eval_info.classifier.from_cache ? ", loaded "
                                               : ", trained, cached at ")
         << eval_info.classifier.path;
    if (!eval_info.classifier.rejected.empty()) note << "; not trusted: " << eval_info.classifier.rejected;
    b.note = note.str();
    b.base = wrap_dit(model);
    return b;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_BACKBONE_KIND(flowbp::DitKind)
