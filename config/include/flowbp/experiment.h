// An experiment: one run's fully resolved, validated configuration, loaded from
// TOML plus dotted-key overrides. The narrow interface the trainer, the sweep
// runner and the distributed launcher share. Keys, defaults and ranges:
// flowbp/config_schema.h, the kinds' settings (`flowbp backbones`, `flowbp rewards`)
// and docs/CONFIG.md.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "flowbp/catalog.h"
#include "flowbp/settings.h"
#include "flowbp/time_shift.h"

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

// [backbone]: the kind, the cache, and the kind's own settings (KindInfo::settings;
// Path settings made absolute against the experiment file's folder when loading, so a
// run's config.toml is self-contained).
struct BackboneConfig {
  std::string kind;
  std::string cache_dir;        // as written; "" = default, see resolved_cache_dir()
  SettingValues settings;       // the kind's keys, resolved
  std::int64_t conditions = 0;  // condition ids the kind's settings give
};

struct SamplingConfig {
  std::int64_t steps = 0;  // N
  double shift = 0;
  double guidance = 0;                 // of the training rollout
  bool cfg_attached = false;           // cfg_negative = "attached": the unconditional branch keeps its gradient
  bool cfg_grad_compensation = false;  // divide the gradient by guidance when guidance > 1
  TimeShift time_shift;                // shift_mode and its parameters; image_seq_len resolved
  // The Schedule::make shift of an N-step schedule (the training rollout's N, or eval.steps).
  double shift_for(std::int64_t n) const { return time_shift.shift_for(static_cast<int>(n)); }
};

// [reward]: the hinge's settings and the reward kind with its own settings.
struct RewardConfig {
  std::string kind;
  double tau = 0, loss_scale = 0;
  SettingValues settings;  // the kind's keys, resolved
};

struct TrainConfig {
  std::int64_t steps = 0, batch = 0;  // optimizer steps; rollouts per micro-batch (global over ranks)
  double lr = 0, weight_decay = 0, max_grad_norm = 0, ema_decay = 0;
  std::string lr_schedule;  // "constant", "linear" or "cosine"
  std::int64_t warmup_steps = 0;
  double lr_min_ratio = 0;
  std::int64_t grad_accumulation = 1;  // micro-batches per optimizer step
  std::string ema;                     // "warmup" or "fixed"
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
  double guidance = 1;  // resolved: sampling.guidance when not given
};

// [diagnostics]: the gradient-fidelity diagnostic (docs/LOG_FORMAT.md, fidelity_* columns).
struct DiagnosticsConfig {
  std::int64_t exact_grad_every = 0;  // 0 = off
  std::int64_t exact_grad_batch = 0;  // samples of the sub-batch (<= train.batch)
  std::int64_t plan_draws = 0;        // 0 or 1 = off
  bool on() const { return exact_grad_every > 0; }
  bool at(std::int64_t step) const { return on() && (step - 1) % exact_grad_every == 0; }
};

struct Experiment {
  std::string source_path;
  toml::table resolved;      // every section, every default filled, overrides applied
  std::string method;        // resolved.method.name
  std::string method_preset; // resolved.method.preset ("" = none): its values lie under explicit settings
  SettingValues method_params; // resolved against the plugin's schema
  bool method_checked = true;  // false when loaded against a catalog without methods

  BackboneConfig backbone;
  SamplingConfig sampling;
  RewardConfig reward;
  TrainConfig train;
  EvalConfig eval;
  DiagnosticsConfig diagnostics;

  // Every resolved leaf by dotted key, sorted ("backbone.classes", "method.K", …): the
  // run log's /config attributes. Integer lists are given as their TOML text.
  std::vector<std::pair<std::string, SettingValue>> leaves() const;
};

// Loads, applies overrides, fills defaults and validates everything (sections, keys,
// types, ranges, the kinds' settings and the method's settings against the catalog)
// before any run. With a catalog without methods, the method's name and settings are
// kept as given (method_params unresolved, method_checked false).
Experiment load_experiment(const std::string& path, const std::vector<Override>& overrides,
                           const Catalog& catalog);
// The same from TOML text; source_name stands for the file in messages.
Experiment parse_experiment(const std::string& toml_text, const std::string& source_name,
                            const std::vector<Override>& overrides, const Catalog& catalog);

// Canonical TOML text of the resolved configuration (what a run's config.toml holds):
// sections and keys sorted, one stable spelling per value.
std::string resolved_toml(const Experiment& experiment);
// 12 hex digits: a hash of resolved_toml; equal configs give equal ids.
std::string config_id(const Experiment& experiment);

// backbone.cache_dir, else $FLOWBP_CACHE_DIR, else ~/.cache/flowbp.
std::string resolved_cache_dir(const BackboneConfig& backbone);

}  // namespace flowbp
