#include "flowbp/catalog.h"

namespace flowbp {

namespace {

const KindInfo* find_kind(const std::vector<KindInfo>& kinds, const std::string& name) {
  for (const auto& k : kinds)
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<std::string> names_of(const std::vector<KindInfo>& kinds) {
  std::vector<std::string> out;
  for (const auto& k : kinds) out.push_back(k.name);
  return out;
}

}  // namespace

const KindInfo* Catalog::backbone(const std::string& name) const { return find_kind(backbones_, name); }
const KindInfo* Catalog::reward(const std::string& name) const { return find_kind(rewards_, name); }
std::vector<std::string> Catalog::backbone_names() const { return names_of(backbones_); }
std::vector<std::string> Catalog::reward_names() const { return names_of(rewards_); }

}  // namespace flowbp
