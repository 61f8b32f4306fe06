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
    const Experiment unchecked = load_experiment_unchecked(path, {});
    CHECK(unchecked.source_path == path);
    if (config_test::have(unchecked.method)) {
      const Experiment e = load_experiment(path, {}, config_test::registry());
      CHECK(config_id(e) == config_id(load_experiment(path, {}, config_test::registry())));
    }
  }
  CHECK(has_toy);
}

TEST_CASE("experiments/toy.toml spells out the defaults") {
  const std::string path = std::string(FLOWBP_SOURCE_ROOT) + "/experiments/toy.toml";
  const Experiment toy = load_experiment_unchecked(path, {});
  const Experiment defaults = load_experiment_unchecked(config_test::write_file("empty.toml", ""), {});
  CHECK(resolved_toml(toy) == resolved_toml(defaults));
}

TEST_CASE("docs/CONFIG.md documents every key with its default") {
  const std::string doc = config_test::read_text(std::string(FLOWBP_SOURCE_ROOT) + "/docs/CONFIG.md");
  REQUIRE_FALSE(doc.empty());
  for (const auto& spec : experiment_schema()) {
    CAPTURE(spec.dotted());
    const auto at = doc.find("| `" + spec.dotted() + "` |");
    REQUIRE(at != std::string::npos);
    const std::string row = doc.substr(at, doc.find('\n', at) - at);
    if (spec.type == KeyType::IntList) continue;  // its default is computed
    CHECK(row.find("`" + format_config_value(spec.default_value) + "`") != std::string::npos);
  }
}
