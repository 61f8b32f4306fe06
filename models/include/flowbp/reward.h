// Reward kinds: the differentiable in-domain rewards the methods optimise, each with
// the evaluators that belong to it (out-of-domain rewards related to it, so reward
// hacking shows). A registry like the backbone kinds'; a kind says which backbone
// kinds it can score and receives the backbone (its latents, conditions and Domain)
// when it is created. A new kind is one folder under rewards/ whose source ends in
// FLOWBP_REGISTER_REWARD_KIND(MyKind).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "flowbp/backbone.h"

namespace flowbp {

struct Reward {
  RewardFn fn;                        // differentiable in x
  std::vector<MetricColumn> metrics;  // its evaluators' /eval columns
  ScoreFn score;                      // their values (may be empty with no metrics)
  std::string note;                   // one line for the progress output ("" for none)
};

class RewardKind {
 public:
  virtual ~RewardKind();
  virtual KindInfo info() const = 0;
  // Builds (training and caching when needed) the reward for this backbone; throws
  // ConfigError when the backbone is not one it can score or a setting fails at load time.
  virtual Reward create(const RewardConfig& config, const Backbone& backbone, const ModelContext& context) const = 0;
};

bool register_reward_kind(std::unique_ptr<RewardKind> kind);
std::vector<const RewardKind*> reward_kinds();  // sorted by name
const RewardKind& reward_kind(const std::string& name);
Reward create_reward(const RewardConfig& config, const Backbone& backbone, const ModelContext& context);

// The catalog of everything an experiment may name: these kinds and the given methods
// (nullptr: method settings are not checked).
Catalog model_catalog(const Registry* methods);

// The Domain of a backbone as the type a reward kind needs, or a ConfigError saying
// which backbone kind the reward kind expects.
template <typename D>
const D& domain_as(const Backbone& backbone, const std::string& reward_kind) {
  const D* d = dynamic_cast<const D*>(backbone.domain.get());
  if (!d)
    throw ConfigError("reward.kind: '" + reward_kind + "' cannot score samples of backbone kind '" + backbone.kind +
                      "'");
  return *d;
}

}  // namespace flowbp

#define FLOWBP_REGISTER_REWARD_KIND(KindClass)                                          \
  namespace {                                                                          \
  [[maybe_unused]] const bool flowbp_reward_kind_registered_ =                         \
      ::flowbp::register_reward_kind(std::make_unique<KindClass>());                   \
  }
