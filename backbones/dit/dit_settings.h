// backbone.* of kind "dit": the settings a user writes, their defaults (the measured
// recipes of each size), the checks made when the config is loaded (the data folder's
// headers included, so missing data stops a run before anything starts) and the
// model and pre-training configuration they resolve to.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dit_pretrain.h"
#include "flowbp/catalog.h"
#include "flowbp/settings.h"

namespace flowbp {

struct DitKindConfig {
  std::string data_dir;
  std::string size;          // tiny | small | base | scale
  bool pretrained = true;    // false: random weights (pretrain_seed), no data, no pre-training
  DitConfig model;           // the size's preset with the width/depth/heads/patch overrides
  DitPretrainConfig pretrain;  // the size's recipe with the pretrain_* overrides; .model = model

  // Throws SettingError naming the key (e.g. heads not dividing width).
  static DitKindConfig from(const SettingValues& settings);
};

std::vector<SettingSpec> dit_settings();

// Condition ids the settings give: Fashion-MNIST's 10 classes, or the scale
// configuration's 1000 (its null class is the last id + 1 in both cases).
std::int64_t dit_conditions(const SettingValues& settings);

// The config-time check: every cross-key rule and, for a pre-trained model, the data
// folder's four file headers (milliseconds). Throws SettingError naming the key.
void check_dit_settings(const SettingValues& settings, const KindCheckContext& context);

}  // namespace flowbp
