// The backbone and reward kind registries: filled by the kinds' static registrars when
// the models library loads, read by the trainer and the commands.
#include <algorithm>
#include <map>

#include "flowbp/did_you_mean.h"
#include "flowbp/reward.h"

namespace flowbp {

Domain::~Domain() = default;
BackboneKind::~BackboneKind() = default;
RewardKind::~RewardKind() = default;

std::vector<std::int64_t> LatentSpec::batch_shape(std::int64_t batch) const {
  std::vector<std::int64_t> out = {batch};
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

namespace {

template <typename Kind>
std::map<std::string, std::unique_ptr<Kind>>& table() {
  static std::map<std::string, std::unique_ptr<Kind>> kinds;  // by name: listings come out sorted
  return kinds;
}

template <typename Kind>
bool add(std::unique_ptr<Kind> kind, const char* what) {
  const std::string name = kind->info().name;
  auto& kinds = table<Kind>();
  // Two registrations of one name are a build mistake; stop at load, naming it.
  if (kinds.count(name)) throw std::logic_error(std::string("two ") + what + " kinds named '" + name + "'");
  kinds[name] = std::move(kind);
  return true;
}

template <typename Kind>
std::vector<const Kind*> all() {
  std::vector<const Kind*> out;
  for (const auto& [name, kind] : table<Kind>()) out.push_back(kind.get());
  return out;
}

template <typename Kind>
const Kind& get(const std::string& name, const char* section) {
  auto& kinds = table<Kind>();
  auto it = kinds.find(name);
  if (it != kinds.end()) return *it->second;
  std::vector<std::string> names;
  for (const auto& [n, k] : kinds) names.push_back(n);
  throw ConfigError(std::string(section) + ".kind: unknown kind '" + name + "'" + did_you_mean(name, names));
}

template <typename Kind>
std::vector<KindInfo> infos() {
  std::vector<KindInfo> out;
  for (const auto* kind : all<Kind>()) out.push_back(kind->info());
  return out;
}

}  // namespace

bool register_backbone_kind(std::unique_ptr<BackboneKind> kind) { return add(std::move(kind), "backbone"); }
std::vector<const BackboneKind*> backbone_kinds() { return all<BackboneKind>(); }
const BackboneKind& backbone_kind(const std::string& name) { return get<BackboneKind>(name, "backbone"); }
Backbone load_backbone(const BackboneConfig& config, const ModelContext& context) {
  Backbone b = backbone_kind(config.kind).load(config, context);
  b.kind = config.kind;
  return b;
}

bool register_reward_kind(std::unique_ptr<RewardKind> kind) { return add(std::move(kind), "reward"); }
std::vector<const RewardKind*> reward_kinds() { return all<RewardKind>(); }
const RewardKind& reward_kind(const std::string& name) { return get<RewardKind>(name, "reward"); }
Reward create_reward(const RewardConfig& config, const Backbone& backbone, const ModelContext& context) {
  return reward_kind(config.kind).create(config, backbone, context);
}

Catalog model_catalog(const Registry* methods) {
  return Catalog(methods, infos<BackboneKind>(), infos<RewardKind>());
}

}  // namespace flowbp
