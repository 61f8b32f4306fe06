// The shipped experiments load, and docs/CONFIG.md documents every key with its
// default (so the document cannot drift from the schema).
#include <dirent.h>

#include "flowbp/config_schema.h"
#include "test_config_fixture.h"
#include <doctest.h>

using namespace flowbp;

namespace {

std::vector<std::string> experiment_files() {
  std::vector<std::string> out;
  const std::string dir = std::string(FLOWBP_SOURCE_ROOT) + "/experiments";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".toml") == 0) out.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

TEST_CASE("every shipped experiment loads") {
  const auto files = experiment_files();
  REQUIRE_FALSE(files.empty());
  bool has_toy = false;
  for (const auto& path : files) {
    CAPTURE(path);
    has_toy = has_toy || (path.size() >= 9 && path.compare(path.size() - 9, 9, "/toy.toml") == 0);
    const Experiment unchecked = load_experiment(path, {}, config_test::catalog_without_methods());
    CHECK(unchecked.source_path == path);
    if (config_test::have(unchecked.method)) {
      const Experiment e = load_experiment(path, {}, config_test::catalog());
      CHECK(config_id(e) == config_id(load_experiment(path, {}, config_test::catalog())));
    }
  }
  CHECK(has_toy);
}

TEST_CASE("experiments/toy.toml spells out the defaults") {
  const std::string path = std::string(FLOWBP_SOURCE_ROOT) + "/experiments/toy.toml";
  const Experiment toy = load_experiment(path, {}, config_test::catalog_without_methods());
  const Experiment defaults = load_experiment(config_test::write_file("empty.toml", ""), {}, config_test::catalog_without_methods());
  CHECK(resolved_toml(toy) == resolved_toml(defaults));
}

namespace {

// The row of `dotted` in the document, or in its part from the heading at `from` up to
// the next "### " heading; "" when it is not there.
std::string row_of(const std::string& doc, std::size_t from, const std::string& dotted) {
  const std::size_t end = from == 0 ? doc.size() : std::min(doc.size(), doc.find("\n### ", from + 1));
  const auto at = doc.find("| `" + dotted + "` |", from);
  if (at == std::string::npos || at > end) return "";
  return doc.substr(at, doc.find('\n', at) - at);
}

void check_row(const std::string& row, const SettingSpec& spec) {
  REQUIRE_FALSE(row.empty());
  if (spec.type == SettingType::IntList) return;  // its default is computed
  CHECK(row.find("`" + format_value(spec.default_value) + "`") != std::string::npos);
}

}  // namespace

TEST_CASE("docs/CONFIG.md documents every key with its default") {
  const std::string doc = config_test::read_text(std::string(FLOWBP_SOURCE_ROOT) + "/docs/CONFIG.md");
  REQUIRE_FALSE(doc.empty());
  for (const auto& key : experiment_schema()) {
    CAPTURE(key.dotted());
    check_row(row_of(doc, 0, key.dotted()), key.spec);
  }
  // Each kind's keys under its own heading: "### [backbone] kind `toy-gmm`".
  const Catalog& catalog = config_test::catalog_without_methods();
  for (const auto* section : {"backbone", "reward"}) {
    for (const auto& kind : std::string(section) == "backbone" ? catalog.backbones() : catalog.rewards()) {
      const std::string heading = "### [" + std::string(section) + "] kind `" + kind.name + "`";
      CAPTURE(heading);
      const auto at = doc.find(heading);
      REQUIRE(at != std::string::npos);
      for (const auto& spec : kind.settings) {
        CAPTURE(spec.name);
        check_row(row_of(doc, at, std::string(section) + "." + spec.name), spec);
      }
    }
  }
}
