// The experiment file's fixed keys: one table that the loader validates against, the
// resolved TOML is written from, and docs/CONFIG.md documents (a test checks the
// document lists every key). [backbone] and [reward] add the keys of the chosen kind
// (KindInfo::settings, through the Catalog); [method] holds the method's name and the
// plugin's settings.
#pragma once
#include <string>
#include <vector>

#include "flowbp/catalog.h"
#include "flowbp/settings.h"

namespace flowbp {

struct SectionKey {
  std::string section;
  SettingSpec spec;
  std::string dotted() const { return section + "." + spec.name; }
};

// Every fixed key of every section, in documentation order.
const std::vector<SectionKey>& experiment_schema();
// The section names, "method" included.
std::vector<std::string> experiment_sections();
// The fixed keys of one section.
std::vector<SettingSpec> section_keys(const std::string& section);
// Every key a section may hold under some kind: the fixed keys plus, for [backbone] and
// [reward], the settings of every kind in the catalog (for checks made before the kind
// is known, such as a sweep's axis keys). Not for [method].
std::vector<SettingSpec> possible_keys(const std::string& section, const Catalog& catalog);

}  // namespace flowbp
