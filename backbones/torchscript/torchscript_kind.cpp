// backbone.kind = "torchscript": the user's scripted velocity model (docs/TORCHSCRIPT.md),
// probed before any training.
#include "flowbp/backbone.h"
#include "flowbp/torchscript_models.h"

namespace flowbp {

namespace {

class TorchScriptKind final : public BackboneKind {
 public:
  KindInfo info() const override {
    using S = SettingSpec;
    KindInfo k;
    k.name = "torchscript";
    k.summary = "your scripted velocity model forward(x, t, cond) -> like x (docs/TORCHSCRIPT.md)";
    k.settings = {
        S::path("velocity_model", "",
                "scripted velocity module, forward(x, t, cond) -> like x (path relative to the experiment file)")
            .with_aliases({"model", "velocity", "model_path"}),
        S::int_list("latent_shape", 1, "shape of one sample x, e.g. [4, 32, 32]").with_aliases({"shape", "latent"}),
        S::integer("conditions", 1, 1, 1e9, "number of condition ids (int64 labels)")
            .with_aliases({"num_conditions", "n_conditions", "classes"}),
        S::integer("null_condition", -1, -1, 1e9, "condition id of guidance's unconditional branch (-1 = none)"),
    };
    k.default_reward = "torchscript";
    k.conditions = [](const SettingValues& s) { return s.get_int("conditions"); };
    k.check = [](const SettingValues& s, const KindCheckContext& context) {
      if (s.get_string("velocity_model").empty())
        throw SettingError("backbone.velocity_model",
                           "backbone.velocity_model: backbone.kind = \"torchscript\" needs the path of a TorchScript "
                           "file (torch.jit.script(m).save(path))");
      if (s.get_int_list("latent_shape").empty())
        throw SettingError("backbone.latent_shape",
                           "backbone.latent_shape: backbone.kind = \"torchscript\" needs the shape of one sample, "
                           "e.g. [4, 32, 32]");
      const std::int64_t null = s.get_int("null_condition");
      if (null >= 0 && null < s.get_int("conditions"))
        throw SettingError("backbone.null_condition",
                           "backbone.null_condition: " + std::to_string(null) +
                               " is one of the conditions 0..conditions-1; the null id must be -1 or another id");
      if (context.guidance != 1.0 && null < 0)
        throw SettingError("sampling.guidance", "sampling.guidance: guidance " + format_value(context.guidance) +
                                                    " needs an unconditional branch: set backbone.null_condition "
                                                    "to the model's null id");
      if (context.eval_guidance != 1.0 && null < 0)
        throw SettingError("eval.guidance", "eval.guidance: guidance " + format_value(context.eval_guidance) +
                                                " needs an unconditional branch: set backbone.null_condition "
                                                "to the model's null id");
    };
    return k;
  }

  Backbone load(const BackboneConfig& config, const ModelContext& context) const override {
    const SettingValues& s = config.settings;
    ScriptProbe probe{s.get_int_list("latent_shape"), s.get_int("conditions"), s.get_int("null_condition"),
                      context.device};
    Backbone b;
    b.base = load_scripted_velocity("backbone.velocity_model", s.get_string("velocity_model"), probe);
    b.latents = {probe.latent_shape, probe.null_condition};
    b.conditions = probe.conditions;
    b.note = "backbone: TorchScript velocity " + s.get_string("velocity_model");
    return b;
  }
};

}  // namespace

}  // namespace flowbp

FLOWBP_REGISTER_BACKBONE_KIND(flowbp::TorchScriptKind)
