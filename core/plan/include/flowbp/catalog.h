// What an experiment may name: the loaded method plugins and the registered backbone
// and reward kinds, each with the settings it declares. The config loader and the
// sweep runner validate against a Catalog they are given; the commands build it
// (the kinds themselves live in the LibTorch models layer, which neither the config
// nor the runner links). Torch-free.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flowbp/registry.h"
#include "flowbp/settings.h"

namespace flowbp {

// What a kind's cross-key check sees besides its own settings.
struct KindCheckContext {
  double guidance = 1.0;       // sampling.guidance
  double eval_guidance = 1.0;  // eval.guidance, resolved
};

struct KindInfo {
  std::string name;     // backbone.kind / reward.kind
  std::string summary;  // one line
  std::vector<SettingSpec> settings;  // backbone.<name> / reward.<name>
  // Backbone kinds: the reward kind a run gets when reward.kind is not given, and the
  // number of condition ids its settings give (eval.held_out_conditions is checked
  // against it).
  std::string default_reward;
  std::function<std::int64_t(const SettingValues&)> conditions;
  // Backbone kinds with images: the token count L the FLUX dynamic shift reads
  // (sampling.image_seq_len = 0 takes it from here). May be empty.
  std::function<std::int64_t(const SettingValues&)> image_seq_len;
  // Reward kinds: the backbone kinds whose samples it can score (empty: any).
  std::vector<std::string> backbones;
  // Checks that involve several keys or other sections; throws SettingError naming the
  // key. May be empty.
  std::function<void(const SettingValues&, const KindCheckContext&)> check;
};

class Catalog {
 public:
  Catalog() = default;
  Catalog(const Registry* methods, std::vector<KindInfo> backbones, std::vector<KindInfo> rewards)
      : methods_(methods), backbones_(std::move(backbones)), rewards_(std::move(rewards)) {}

  // nullptr: method settings are taken as given, unchecked (tools without plugins).
  const Registry* methods() const { return methods_; }
  const std::vector<KindInfo>& backbones() const { return backbones_; }
  const std::vector<KindInfo>& rewards() const { return rewards_; }
  // nullptr for an unknown name.
  const KindInfo* backbone(const std::string& name) const;
  const KindInfo* reward(const std::string& name) const;
  std::vector<std::string> backbone_names() const;
  std::vector<std::string> reward_names() const;

 private:
  const Registry* methods_ = nullptr;
  std::vector<KindInfo> backbones_, rewards_;
};

}  // namespace flowbp
