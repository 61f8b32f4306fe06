#include "flowbp/config_schema.h"

#include <cmath>
#include <sstream>

#include "flowbp/did_you_mean.h"
#include "flowbp/text.h"

namespace flowbp {

const char* to_string(KeyType type) {
  switch (type) {
    case KeyType::Bool: return "bool";
    case KeyType::Int: return "integer";
    case KeyType::Real: return "real";
    case KeyType::String: return "string";
    case KeyType::Choice: return "string";
    case KeyType::IntList: return "array of integers";
  }
  return "?";
}

namespace {

constexpr double kInf = HUGE_VAL;

KeySpec integer(const char* section, const char* name, std::int64_t def, std::optional<double> min,
                std::optional<double> max, const char* help) {
  KeySpec s;
  s.section = section;
  s.name = name;
  s.type = KeyType::Int;
  s.default_value = def;
  s.min = min;
  s.max = max;
  s.help = help;
  return s;
}

KeySpec real(const char* section, const char* name, double def, std::optional<double> min,
             std::optional<double> max, const char* help, bool min_exclusive = false) {
  KeySpec s;
  s.section = section;
  s.name = name;
  s.type = KeyType::Real;
  s.default_value = def;
  s.min = min;
  s.max = max;
  s.min_exclusive = min_exclusive;
  s.help = help;
  return s;
}

KeySpec positive(const char* section, const char* name, double def, const char* help) {
  return real(section, name, def, 0.0, std::nullopt, help, true);
}

KeySpec choice(const char* section, const char* name, const char* def, std::vector<std::string> choices,
               const char* help) {
  KeySpec s;
  s.section = section;
  s.name = name;
  s.type = KeyType::Choice;
  s.default_value = std::string(def);
  s.choices = std::move(choices);
  s.help = help;
  return s;
}

KeySpec text(const char* section, const char* name, const char* def, const char* help) {
  KeySpec s;
  s.section = section;
  s.name = name;
  s.type = KeyType::String;
  s.default_value = std::string(def);
  s.help = help;
  return s;
}

KeySpec flag(const char* section, const char* name, bool def, const char* help) {
  KeySpec s;
  s.section = section;
  s.name = name;
  s.type = KeyType::Bool;
  s.default_value = def;
  s.help = help;
  return s;
}

KeySpec int_list(const char* section, const char* name, std::optional<double> min, const char* help) {
  KeySpec s;
  s.section = section;
  s.name = name;
  s.type = KeyType::IntList;
  s.default_value = std::vector<std::int64_t>{};
  s.min = min;
  s.help = help;
  return s;
}

KeySpec with_aliases(KeySpec spec, std::vector<std::string> aliases) {
  spec.aliases = std::move(aliases);
  return spec;
}

std::vector<KeySpec> build_schema() {
  std::vector<KeySpec> schema = {
      choice("backbone", "kind", "toy-gmm", {"toy-gmm", "torchscript"},
             "the generator: the built-in Gaussian-mixture toy, or your TorchScript models (docs/TORCHSCRIPT.md)"),
      integer("backbone", "dim", 2, 1, std::nullopt, "data dimension d"),
      integer("backbone", "classes", 4, 1, std::nullopt, "number of conditions (classes)"),
      integer("backbone", "modes_per_class", 4, 1, std::nullopt, "mixture modes per class"),
      positive("backbone", "mode_std", 0.15, "standard deviation of each mixture mode"),
      integer("backbone", "hidden", 128, 1, std::nullopt, "width of the MLP velocity model"),
      integer("backbone", "layers", 3, 1, std::nullopt, "hidden layers of the MLP"),
      integer("backbone", "time_embed", 32, 2, std::nullopt, "size of the sinusoidal time embedding"),
      integer("backbone", "pretrain_steps", 3000, 0, std::nullopt, "flow-matching pre-training steps"),
      integer("backbone", "pretrain_batch", 256, 1, std::nullopt, "pre-training batch size"),
      positive("backbone", "pretrain_lr", 2e-3, "pre-training learning rate"),
      real("backbone", "p_uncond", 0.1, 0.0, 1.0, "probability of dropping the condition in pre-training"),
      choice("backbone", "t_sampling", "uniform", {"uniform", "logit_normal"}, "pre-training time distribution"),
      text("backbone", "cache_dir", "", "checkpoint cache; empty = $FLOWBP_CACHE_DIR or ~/.cache/flowbp"),
      text("backbone", "velocity_model", "",
           "torchscript: scripted velocity module, forward(x, t, cond) -> like x (path relative to the experiment file)"),
      text("backbone", "reward_model", "",
           "torchscript: scripted reward module, forward(x, cond) -> [B] (path relative to the experiment file)"),
      int_list("backbone", "latent_shape", 1, "torchscript: shape of one sample x, e.g. [4, 32, 32]"),
      integer("backbone", "conditions", 1, 1, std::nullopt, "torchscript: number of condition ids (int64 labels)"),
      integer("backbone", "null_condition", -1, -1, std::nullopt,
              "torchscript: condition id of guidance's unconditional branch (-1 = none)"),

      integer("sampling", "steps", 25, 1, std::nullopt, "Euler steps N of the training rollout"),
      positive("sampling", "shift", 1.0, "time-schedule shift (1 = uniform grid)"),
      real("sampling", "guidance", 1.0, 0.0, std::nullopt, "classifier-free guidance scale (1 = none)"),

      choice("reward", "kind", "mode-preference", {"mode-preference"}, "the in-domain reward"),
      real("reward", "tau", 0.9, std::nullopt, std::nullopt, "hinge threshold: loss = max(0, tau - reward)"),
      positive("reward", "loss_scale", 1.0, "factor on the loss"),
      positive("reward", "width", 0.3, "width of the reward bumps around preferred modes"),
      real("reward", "preferred_fraction", 0.5, 0.0, 1.0, "fraction of each class's modes the reward prefers"),

      integer("train", "steps", 300, 1, std::nullopt, "training steps"),
      integer("train", "batch", 64, 1, std::nullopt, "rollouts per step"),
      positive("train", "lr", 1e-3, "AdamW learning rate"),
      real("train", "weight_decay", 0.0, 0.0, std::nullopt, "AdamW weight decay"),
      positive("train", "max_grad_norm", 1.0, "global gradient-norm clip"),
      real("train", "ema_decay", 0.995, 0.0, 1.0, "EMA decay of the weights used for evaluation"),
      integer("train", "seed", 42, 0, std::nullopt, "seed of every training random stream"),
      integer("train", "eval_every", 50, 0, std::nullopt, "evaluate every this many steps (0 = only at the end)"),
      integer("train", "checkpoint_every", 25, 0, std::nullopt,
              "checkpoint every this many steps (0 = only at the end)"),
      integer("train", "threads", 1, 1, std::nullopt, "torch intra-op threads"),
      text("train", "device", "cpu", "\"cpu\", \"cuda\" or \"cuda:<index>\""),
      choice("train", "autocast", "none", {"none", "bf16"}, "autocast region around velocity forwards"),
      flag("train", "tf32", false, "allow TF32 in cuBLAS and cuDNN (CUDA only; no effect on the CPU)"),
      integer("train", "dist_timeout_s", 300, 1, std::nullopt,
              "data-parallel runs: seconds a collective waits for the other ranks before failing"),

      integer("eval", "steps", 50, 1, std::nullopt, "Euler steps of evaluation sampling"),
      integer("eval", "samples_per_condition", 256, 1, std::nullopt, "samples per held-out condition"),
      int_list("eval", "held_out_conditions", 0,
               "conditions evaluated; empty/absent = all classes (each in [0, classes - 1])"),
      integer("eval", "noise_seed", 1234, 0, std::nullopt, "seed of the fixed evaluation noise"),
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> aliases = {
      {"backbone.kind", {"type", "name"}},
      {"backbone.dim", {"dimension", "dims", "d"}},
      {"backbone.classes", {"num_classes", "n_classes"}},
      {"backbone.conditions", {"num_conditions", "n_conditions"}},
      {"backbone.velocity_model", {"model", "velocity", "model_path"}},
      {"backbone.reward_model", {"reward", "reward_path"}},
      {"backbone.latent_shape", {"shape", "latent"}},
      {"train.autocast", {"amp", "precision", "mixed_precision"}},
      {"train.dist_timeout_s", {"timeout", "dist_timeout"}},
      {"backbone.modes_per_class", {"modes", "num_modes"}},
      {"backbone.hidden", {"hidden_dim", "hidden_size", "width"}},
      {"backbone.layers", {"num_layers", "n_layers", "depth"}},
      {"backbone.pretrain_lr", {"lr", "learning_rate"}},
      {"sampling.steps", {"num_steps", "n_steps", "N"}},
      {"sampling.guidance", {"cfg", "cfg_scale", "guidance_scale"}},
      {"sampling.shift", {"time_shift", "schedule_shift"}},
      {"reward.kind", {"type", "name"}},
      {"reward.tau", {"threshold", "hinge", "margin"}},
      {"reward.loss_scale", {"scale"}},
      {"train.steps", {"num_steps", "n_steps", "iterations", "max_steps"}},
      {"train.batch", {"batch_size", "bs"}},
      {"train.lr", {"learning_rate"}},
      {"train.weight_decay", {"wd"}},
      {"train.max_grad_norm", {"grad_clip", "clip_grad_norm", "clip"}},
      {"train.ema_decay", {"ema"}},
      {"train.seed", {"random_seed"}},
      {"train.threads", {"num_threads", "torch_threads"}},
      {"eval.steps", {"num_steps", "n_steps"}},
      {"eval.samples_per_condition", {"samples", "num_samples", "n_samples"}},
      {"eval.held_out_conditions", {"conditions", "classes", "held_out"}},
      {"eval.noise_seed", {"seed"}},
  };
  for (auto& spec : schema)
    for (const auto& [dotted, names] : aliases)
      if (dotted == spec.dotted()) spec = with_aliases(spec, names);
  return schema;
}

std::string number_text(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  std::ostringstream out;
  out << x;
  return out.str();
}

}  // namespace

const std::vector<KeySpec>& experiment_schema() {
  static const std::vector<KeySpec> schema = build_schema();
  return schema;
}

std::vector<std::string> experiment_sections() {
  return {"backbone", "sampling", "reward", "train", "eval", "method"};
}

const KeySpec* find_key_spec(const std::string& section, const std::string& name) {
  for (const auto& spec : experiment_schema())
    if (spec.section == section && spec.name == name) return &spec;
  return nullptr;
}

std::vector<std::string> key_names(const std::string& section) {
  std::vector<std::string> out;
  for (const auto& spec : experiment_schema())
    if (spec.section == section) out.push_back(spec.name);
  return out;
}

std::string suggest_key(const std::string& section, const std::string& word) {
  std::vector<std::string> candidates;
  std::vector<std::string> targets;  // what each candidate suggests
  for (const auto& spec : experiment_schema()) {
    if (spec.section != section) continue;
    candidates.push_back(spec.name);
    targets.push_back(spec.name);
    for (const auto& alias : spec.aliases) {
      candidates.push_back(alias);
      targets.push_back(spec.name);
    }
  }
  const std::string best = closest_match(word, candidates);
  if (best.empty()) return "";
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i] == best) return " (did you mean '" + targets[i] + "'?)";
  return "";
}

std::string KeySpec::expectation() const {
  std::string what = to_string(type);
  if (type == KeyType::Choice) {
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : ", ") + c;
    return "one of {" + all + "}";
  }
  if (type != KeyType::Int && type != KeyType::Real && type != KeyType::IntList) return what;
  if (!min && !max) return what;
  if (type == KeyType::IntList) what += " each";
  if (min && max) return what + " in " + (min_exclusive ? "(" : "[") + number_text(*min) + ", " + number_text(*max) + "]";
  if (min) return what + (min_exclusive ? " > " : " >= ") + number_text(*min);
  return what + " <= " + number_text(*max);
}

std::string KeySpec::range_problem(const ConfigValue& value) const {
  auto outside = [&](double x) {
    return !std::isfinite(x) || (min && (min_exclusive ? x <= *min : x < *min)) || (max && x > *max);
  };
  if (auto i = std::get_if<std::int64_t>(&value)) {
    if (outside(static_cast<double>(*i))) return std::to_string(*i) + " is out of range: expected " + expectation();
  } else if (auto d = std::get_if<double>(&value)) {
    if (outside(*d)) return format_config_value(*d) + " is out of range: expected " + expectation();
  } else if (auto list = std::get_if<std::vector<std::int64_t>>(&value)) {
    for (auto x : *list)
      if (outside(static_cast<double>(x)))
        return "element " + std::to_string(x) + " is out of range: expected " + expectation();
  } else if (auto s = std::get_if<std::string>(&value); s && type == KeyType::Choice) {
    bool known = false;
    for (const auto& c : choices) known = known || c == *s;
    if (!known) return "'" + *s + "' is not " + expectation() + did_you_mean(*s, choices);
  }
  return "";
}

std::string format_config_value(const ConfigValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, std::int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<V, double>) return toml_real(v);
        else if constexpr (std::is_same_v<V, std::string>) return quoted(v);
        else {
          std::string out = "[";
          for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
          return out + "]";
        }
      },
      value);
}

}  // namespace flowbp
