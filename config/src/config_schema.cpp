#include "flowbp/config_schema.h"

#include <cstdint>

namespace flowbp {

namespace {

using S = SettingSpec;

// Resource keys are bounded so that a typo cannot ask for years of work or all memory
// (train.steps = 1e18, sampling.steps = 1e9) before anything checks it.
constexpr double kMaxSteps = 1e9;
// Optimizer settings become float32 scalars: larger values would overflow there.
constexpr double kFloatMax = 3.4e38;

std::vector<SectionKey> build_schema() {
  std::vector<SectionKey> schema;
  auto add = [&](const char* section, SettingSpec spec) { schema.push_back({section, std::move(spec)}); };

  add("backbone", S::text("kind", "toy-gmm", "the generator: a registered backbone kind (`flowbp backbones` lists them)")
                      .with_aliases({"type", "name"}));
  add("backbone", S::path("cache_dir", "", "pre-trained model cache; empty = $FLOWBP_CACHE_DIR or ~/.cache/flowbp"));

  add("sampling", S::integer("steps", 25, 1, 100000, "Euler steps N of the training rollout")
                      .with_aliases({"num_steps", "n_steps", "N"}));
  add("sampling", S::real("shift", 1.0, 0.01, 100.0, "time-schedule shift (1 = uniform grid; SD3 uses 3)")
                      .with_aliases({"time_shift", "schedule_shift"}));
  add("sampling", S::real("guidance", 1.0, 0.0, 1000.0, "classifier-free guidance scale of the training rollout (1 = none)")
                      .with_aliases({"cfg", "cfg_scale", "guidance_scale", "cfg_guidance"}));
  add("sampling", S::choice("cfg_negative", "detached", {"detached", "attached"},
                            "training guidance's unconditional branch: without gradient (the paper) or with it "
                            "(the authors' cfg_detach_neg = false)")
                      .with_aliases({"cfg_detach_neg", "negative_branch"}));
  add("sampling", S::boolean("cfg_grad_compensation", false,
                             "divide the gradient by the training guidance g when g > 1, after the logged loss is "
                             "taken (the authors' cfg_grad_norm_compensate)")
                      .with_aliases({"cfg_grad_norm_compensate", "cfg_compensation"}));
  add("sampling", S::choice("shift_mode", "static", {"static", "dynamic", "empirical"},
                            "time shift: sampling.shift (SD3), FLUX.1's mu linear in image_seq_len, or FLUX.2's "
                            "empirical mu of image_seq_len and N")
                      .with_aliases({"use_dynamic_shifting", "dynamic_shift"}));
  add("sampling", S::real("base_shift", 0.5, -10.0, 10.0, "dynamic shift: mu at base_seq_len"));
  add("sampling", S::real("max_shift", 1.15, -10.0, 10.0, "dynamic shift: mu at max_seq_len"));
  add("sampling", S::integer("base_seq_len", 256, 1, kMaxSteps, "dynamic shift: the sequence length of base_shift")
                      .with_aliases({"base_image_seq_len"}));
  add("sampling", S::integer("max_seq_len", 4096, 1, kMaxSteps, "dynamic shift: the sequence length of max_shift")
                      .with_aliases({"max_image_seq_len"}));
  add("sampling", S::integer("image_seq_len", 0, 0, kMaxSteps,
                             "dynamic and empirical shifts: the image's token count L; 0 = the one the backbone "
                             "kind reports")
                      .with_aliases({"seq_len"}));

  add("reward", S::text("kind", "", "the in-domain reward: a registered reward kind (`flowbp rewards`); empty = the backbone kind's default")
                    .with_aliases({"type", "name"}));
  add("reward", S::real("tau", 0.9, -1e6, 1e6, "hinge threshold: loss = max(0, tau - reward)").with_aliases({"threshold", "hinge", "margin"}));
  add("reward", S::real("loss_scale", 1.0, 0.0, 1e6, "factor on the loss").excluding_min().with_aliases({"scale"}));

  add("train", S::integer("steps", 300, 1, kMaxSteps, "training steps").with_aliases({"num_steps", "n_steps", "iterations", "max_steps"}));
  add("train", S::integer("batch", 64, 1, 1 << 20, "rollouts per step").with_aliases({"batch_size", "bs"}));
  add("train", S::real("lr", 1e-3, 0.0, kFloatMax, "AdamW learning rate").excluding_min().with_aliases({"learning_rate"}));
  add("train", S::real("weight_decay", 0.0, 0.0, kFloatMax, "AdamW weight decay").with_aliases({"wd"}));
  add("train", S::positive("max_grad_norm", 1.0, "global gradient-norm clip").with_aliases({"grad_clip", "clip_grad_norm", "clip"}));
  add("train", S::choice("lr_schedule", "constant", {"constant", "linear", "cosine"},
                         "learning rate after the warm-up: constant, or decaying linearly or by a half cosine to "
                         "lr_min_ratio·lr at the last step")
                   .with_aliases({"lr_scheduler", "schedule"}));
  add("train", S::integer("warmup_steps", 0, 0, kMaxSteps,
                          "optimizer steps of linear learning-rate warm-up from 0 (transformers' rule)")
                   .with_aliases({"lr_warmup_steps", "warmup"}));
  add("train", S::real("lr_min_ratio", 0.0, 0.0, 1.0, "linear and cosine schedules: the final learning rate as a fraction of lr")
                   .with_aliases({"min_lr_ratio"}));
  add("train", S::integer("grad_accumulation", 1, 1, 65536,
                          "micro-batches of train.batch rollouts per optimizer step (gradients averaged over them)")
                   .with_aliases({"gradient_accumulation_steps", "accumulation", "grad_accum"}));
  add("train", S::real("ema_decay", 0.995, 0.0, 1.0, "EMA decay of the weights used for evaluation"));
  add("train", S::choice("ema", "warmup", {"warmup", "fixed"},
                         "EMA decay per step: min(ema_decay, (1 + n)/(10 + n)) (diffusers' warm-up) or ema_decay "
                         "from the first step (the authors' trainers)")
                   .with_aliases({"ema_mode", "ema_schedule"}));
  add("train", S::integer("seed", 42, 0, 9.2e18, "seed of every training random stream").with_aliases({"random_seed"}));
  add("train", S::integer("eval_every", 50, 0, kMaxSteps, "evaluate every this many steps (0 = only at the end)"));
  add("train", S::integer("checkpoint_every", 25, 0, kMaxSteps, "checkpoint every this many steps (0 = only at the end)"));
  add("train", S::integer("threads", 1, 1, 1024, "torch intra-op threads (at most the machine's cores; checked when the run starts)")
                   .with_aliases({"num_threads", "torch_threads"}));
  add("train", S::text("device", "cpu", "\"cpu\", \"cuda\" or \"cuda:<index>\""));
  add("train", S::choice("autocast", "none", {"none", "bf16"}, "autocast region around velocity forwards")
                   .with_aliases({"amp", "precision", "mixed_precision"}));
  add("train", S::boolean("tf32", false, "allow TF32 in cuBLAS and cuDNN (CUDA only; no effect on the CPU)"));
  add("train", S::integer("dist_timeout_s", 300, 1, 86400,
                          "data-parallel runs: seconds a collective waits for the other ranks before failing")
                   .with_aliases({"timeout", "dist_timeout"}));

  add("eval", S::integer("steps", 50, 1, 100000, "Euler steps of evaluation sampling").with_aliases({"num_steps", "n_steps"}));
  add("eval", S::integer("samples_per_condition", 256, 1, 1 << 20, "samples per held-out condition")
                  .with_aliases({"samples", "num_samples", "n_samples"}));
  add("eval", S::int_list("held_out_conditions", 0,
                          "conditions evaluated; empty/absent = all conditions of the backbone (each in [0, conditions - 1])")
                  .with_aliases({"conditions", "classes", "held_out"}));
  add("eval", S::integer("noise_seed", 1234, 0, 9.2e18, "seed of the fixed evaluation noise").with_aliases({"seed"}));
  add("eval", S::real("guidance", -1.0, -1.0, 1000.0,
                      "classifier-free guidance scale of evaluation sampling; -1 = sampling.guidance (resolved to "
                      "its value)")
                  .with_aliases({"cfg", "cfg_scale", "guidance_scale", "eval_guidance_scale"}));

  add("diagnostics", S::integer("exact_grad_every", 0, 0, kMaxSteps,
                                "gradient fidelity: every this many steps (steps 1, 1 + k, …) compare the method's "
                                "gradient with the exact one on a sub-batch (0 = off)")
                         .with_aliases({"every", "fidelity_every"}));
  add("diagnostics", S::integer("exact_grad_batch", 8, 1, 1 << 20,
                                "gradient fidelity: the first this many samples of the step's batch (at most train.batch)")
                         .with_aliases({"batch", "sub_batch"}));
  add("diagnostics", S::integer("plan_draws", 0, 0, 4096,
                                "gradient fidelity: plans drawn per diagnostic step for the bias and spread "
                                "(0 or 1 = off; needs exact_grad_every > 0)")
                         .with_aliases({"draws", "plans"}));
  return schema;
}

}  // namespace

const std::vector<SectionKey>& experiment_schema() {
  static const std::vector<SectionKey> schema = build_schema();
  return schema;
}

std::vector<std::string> experiment_sections() {
  return {"backbone", "sampling", "reward", "train", "eval", "diagnostics", "method"};
}

std::vector<SettingSpec> section_keys(const std::string& section) {
  std::vector<SettingSpec> out;
  for (const auto& k : experiment_schema())
    if (k.section == section) out.push_back(k.spec);
  return out;
}

std::vector<SettingSpec> possible_keys(const std::string& section, const Catalog& catalog) {
  std::vector<SettingSpec> out = section_keys(section);
  const std::vector<KindInfo>* kinds = section == "backbone" ? &catalog.backbones()
                                       : section == "reward" ? &catalog.rewards()
                                                             : nullptr;
  if (kinds)
    for (const auto& kind : *kinds)
      for (const auto& spec : kind.settings)
        if (!find_setting(out, spec.name)) out.push_back(spec);
  return out;
}

}  // namespace flowbp
