// An experiment: one run's fully resolved, validated configuration, loaded from
// TOML plus dotted-key overrides. The narrow interface the trainer, the sweep
// runner and the distributed launcher share. Keys, defaults and ranges:
// flowbp/config_schema.h and docs/CONFIG.md.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "flowbp/params.h"
#include "flowbp/registry.h"
#include "flowbp/params.h"

namespace flowbp {

// A user-facing configuration error: "<file>:<line>:<col>: <dotted.key>: <problem>"
// with a "did you mean" where one fits.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Override {
  std::string key;         // dotted key, e.g. "method.K"
  std::string value_text;  // TOML syntax of the value: 4, 0.3, "uniform", true (bare words read as strings)
  std::string origin;      // where it came from, for messages: "--set", "sweeps/x.toml:12"
};

// Parses "key=value" as given to --set.
Override parse_override(const std::string& text, const std::string& origin);

struct BackboneConfig {
  std::string kind;
  std::int64_t dim = 0, classes = 0, modes_per_class = 0;
  double mode_std = 0;
  std::int64_t hidden = 0, layers = 0, time_embed = 0, pretrain_steps = 0, pretrain_batch = 0;
  double pretrain_lr = 0, p_uncond = 0;
  std::string t_sampling;
  std::string cache_dir;  // as written; "" = default, see resolved_cache_dir()
  // kind = "torchscript" (docs/TORCHSCRIPT.md): model paths made absolute against the
  // experiment file's folder when loading, so a run's config.toml is self-contained.
  std::string velocity_model, reward_model;
  std::vector<std::int64_t> latent_shape;
  std::int64_t conditions = 0;
  std::int64_t null_condition = -1;  // -1: no unconditional branch
};

// The number of condition ids of the backbone: classes for the toy, conditions otherwise.
std::int64_t condition_count(const BackboneConfig& backbone);

struct SamplingConfig {
  std::int64_t steps = 0;  // N
  double shift = 0, guidance = 0;
};

struct RewardConfig {
  std::string kind;
  double tau = 0, loss_scale = 0, width = 0, preferred_fraction = 0;
};

struct TrainConfig {
  std::int64_t steps = 0, batch = 0;
  double lr = 0, weight_decay = 0, max_grad_norm = 0, ema_decay = 0;
  std::int64_t seed = 0, eval_every = 0, checkpoint_every = 0, threads = 0;
  std::string device;
  std::string autocast;  // "none" or "bf16"
  bool tf32 = false;
  std::int64_t dist_timeout_s = 0;
};

struct EvalConfig {
  std::int64_t steps = 0, samples_per_condition = 0;
  std::vector<std::int64_t> held_out_conditions;  // resolved: never empty
  std::int64_t noise_seed = 0;
};

struct Experiment {
  std::string source_path;
  toml::table resolved;      // every section, every default filled, overrides applied
  std::string method;        // resolved.method.name
  ParamValues method_params; // resolved against the plugin's schema
  bool method_checked = true;  // false only from load_experiment_unchecked

  BackboneConfig backbone;
  SamplingConfig sampling;
  RewardConfig reward;
  TrainConfig train;
  EvalConfig eval;

  // Every resolved leaf by dotted key, sorted ("backbone.classes", "method.K", …): the
  // run log's /config attributes. Integer lists are given as their TOML text.
  std::vector<std::pair<std::string, ParamValue>> leaves() const;
};

// Loads, applies overrides, fills defaults and validates everything (sections, keys,
// types, ranges, the method's settings against its plugin schema) before any run.
Experiment load_experiment(const std::string& path, const std::vector<Override>& overrides,
                           const Registry& registry);
// The same from TOML text; source_name stands for the file in messages.
Experiment parse_experiment(const std::string& toml_text, const std::string& source_name,
                            const std::vector<Override>& overrides, const Registry& registry);
// Everything load_experiment checks except the method: its name and settings are kept as
// given (method_params unresolved, method_checked false). For tools without plugins.
Experiment load_experiment_unchecked(const std::string& path, const std::vector<Override>& overrides);

// Canonical TOML text of the resolved configuration (what a run's config.toml holds):
// sections and keys sorted, one stable spelling per value.
std::string resolved_toml(const Experiment& experiment);
// 12 hex digits: a hash of resolved_toml; equal configs give equal ids.
std::string config_id(const Experiment& experiment);

// backbone.cache_dir, else $FLOWBP_CACHE_DIR, else ~/.cache/flowbp.
std::string resolved_cache_dir(const BackboneConfig& backbone);

}  // namespace flowbp
