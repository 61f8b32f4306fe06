// Sweep files: expansion (grid, zip, list, per-method overrides), run ids and
// names, and the errors a bad sweep gets before anything runs. Real plugins,
// the real experiment loader, real files.

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "flowbp/registry.h"
#include "flowbp/reward.h"
#include "flowbp/sweep.h"
#include "runner_fixture.h"
// Last: flowbp/reward.h brings LibTorch and glog, whose CHECK aborts instead of reporting.
#include "doctest_after_torch.h"

using namespace flowbp;

namespace {

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    reg.load_search_path();
    return reg;
  }();
  return r;
}

const Catalog& catalog() {
  static const Catalog c = model_catalog(&registry());
  return c;
}

// A sweep file next to a tiny base experiment; returns the sweep's path.
std::string sweep_file(const std::string& label, const std::string& body) {
  const std::string dir = runner_test::scratch_dir("spec-" + label);
  runner_test::write_text(dir + "/base.toml", runner_test::tiny_base_toml());
  runner_test::write_text(dir + "/s.toml", "base = \"base.toml\"\n" + body);
  return dir + "/s.toml";
}

std::vector<SweepRun> resolve(const std::string& label, const std::string& body) {
  return resolve_sweep(parse_sweep_file(sweep_file(label, body), catalog()), catalog());
}

// The SweepError message of a bad sweep ("" if it was accepted).
std::string error_of(const std::string& label, const std::string& body) {
  try {
    resolve(label, body);
  } catch (const SweepError& e) {
    return e.what();
  }
  return "";
}

const SweepRun& find_run(const std::vector<SweepRun>& runs, const std::string& needle) {
  for (const auto& r : runs)
    if (r.name.find(needle) != std::string::npos) return r;
  throw std::runtime_error("no run named like " + needle);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("plugins for the sweep tests are loaded") {
  for (const char* m : {"refl", "leapalign", "flowbp-lagrange", "flowbp-sparse", "drtune"})
    REQUIRE_MESSAGE(registry().has(m), "plugin " << m << " not built");
}

TEST_CASE("grid is a cartesian product, zip pairs, list enumerates; blocks multiply") {
  const auto runs = resolve("expand", R"(
[set]
"train.steps" = 4
[[grid]]
"method.name" = ["flowbp-sparse", "flowbp-bridge"]
"train.seed" = [1, 2, 3]
[[zip]]
"method.K" = [2, 4]
"method.late_bias_gamma" = [0.5, 2.0]
[[list]]
variants = [ { "train.lr" = 1e-3 }, { "train.lr" = 3e-4, "train.batch" = 8 } ]
)");
  CHECK(runs.size() == 2 * 3 * 2 * 2);
  std::set<std::string> ids, names;
  for (const auto& r : runs) {
    ids.insert(r.id);
    names.insert(r.name);
    CHECK(r.id.size() == 12);
    CHECK(contains(r.resolved_toml, "steps = 4"));
  }
  CHECK(ids.size() == runs.size());
  CHECK(names.size() == runs.size());
  // zip pairs K=2 with gamma 0.5 and K=4 with gamma 2, never crossed
  for (const auto& r : runs) {
    const bool k2 = contains(r.resolved_toml, "K = 2\n");
    const bool g05 = contains(r.resolved_toml, "late_bias_gamma = 0.5\n");
    CHECK(k2 == g05);
  }
  // the list's second variant sets two keys together
  int batch8 = 0;
  for (const auto& r : runs) {
    const toml::table t = toml::parse(r.resolved_toml);
    const bool small_batch = t["train"]["batch"].value<std::int64_t>() == 8;
    const bool small_lr = t["train"]["lr"].value<double>() == 3e-4;
    CHECK(small_batch == small_lr);
    batch8 += small_batch;
  }
  CHECK(batch8 == 12);
  // file order: the first block varies slowest
  CHECK(runs.front().method == "flowbp-sparse");
  CHECK(runs.back().method == "flowbp-bridge");
}

TEST_CASE("a run's id is the config_id of its resolved configuration") {
  // Same configuration spelled differently -> same id; a different value -> another id.
  const auto a = resolve("id-a", "[set]\n\"train.seed\" = 5\n\"method.name\" = \"leapalign\"\n");
  const auto b = resolve("id-b", "[[grid]]\ntrain.seed = [5, 6]\nmethod.name = [\"leapalign\"]\n");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 2);
  CHECK(a[0].id == b[0].id);
  CHECK(a[0].resolved_toml == b[0].resolved_toml);
  CHECK(b[0].id != b[1].id);
  // Writing a method's default explicitly is the same configuration as leaving it out.
  const auto c = resolve("id-c", "[set]\n\"train.seed\" = 5\n\"method.name\" = \"leapalign\"\n\"method.beta\" = 0.3\n");
  CHECK(c[0].id == a[0].id);
  const auto d = resolve("id-d", "[set]\n\"train.seed\" = 5\n\"method.name\" = \"leapalign\"\n\"method.beta\" = 0.31\n");
  CHECK(d[0].id != a[0].id);
}

TEST_CASE("names are readable from the values that vary, plus the short id") {
  const auto runs = resolve("names", R"(
[set]
"method.name" = "flowbp-lagrange"
[[grid]]
"method.K" = [4, 6]
"train.seed" = [1, 2]
"method.weights" = ["lagrange"]
)");
  REQUIRE(runs.size() == 4);
  const SweepRun& r = find_run(runs, "K4_seed2");
  CHECK(r.name == "flowbp-lagrange_K4_seed2_" + r.id.substr(0, 8));
  // "weights" has one value: it does not vary, so it is not in the name
  for (const auto& run : runs) CHECK_FALSE(contains(run.name, "weights"));
  CHECK(readable_run_label("refl", {{"method.reward_input", "\"endpoint_reconstruction\""}, {"train.seed", "3"}}) ==
        "refl_reward_input-endpoint_reconstruction_seed3");
  CHECK(readable_run_label("x", {{"method.name", "\"full-bp\""}, {"train.steps", "4"}, {"sampling.steps", "6"}}) ==
        "full-bp_train.steps4_sampling.steps6");
}

TEST_CASE("method overrides apply only to runs of their method") {
  const auto runs = resolve("overrides", R"(
[[grid]]
"method.name" = ["refl", "flowbp-lagrange", "leapalign"]
[method_overrides.flowbp-lagrange]
K = 2
P = 2
[method_overrides.leapalign]
beta = 0.7
)");
  REQUIRE(runs.size() == 3);
  const SweepRun& lag = find_run(runs, "flowbp-lagrange");
  const SweepRun& leap = find_run(runs, "leapalign");
  const SweepRun& refl = find_run(runs, "refl");
  CHECK(contains(lag.resolved_toml, "P = 2\n"));
  CHECK(contains(lag.resolved_toml, "K = 2\n"));
  CHECK(contains(leap.resolved_toml, "beta = 0.7\n"));
  CHECK_FALSE(contains(refl.resolved_toml, "P = "));
  CHECK_FALSE(contains(refl.resolved_toml, "beta"));
}

TEST_CASE("bad sweeps fail before any run with the file, line and key") {
  SUBCASE("unknown key, with did-you-mean") {
    const std::string e = error_of("unknown-key", "[[grid]]\n\"train.sed\" = [1, 2]\n");
    CHECK(contains(e, "s.toml:3:"));
    CHECK(contains(e, "train.sed"));
    CHECK(contains(e, "did you mean 'seed'"));
  }
  SUBCASE("unknown section") {
    const std::string e = error_of("unknown-section", "[set]\n\"trian.seed\" = 1\n");
    CHECK(contains(e, "s.toml:3:"));
    CHECK(contains(e, "did you mean 'train'"));
  }
  SUBCASE("unknown sweep key") {
    const std::string e = error_of("unknown-top", "[[grd]]\n\"train.seed\" = [1]\n");
    CHECK(contains(e, "grd"));
    CHECK(contains(e, "did you mean 'grid'"));
  }
  SUBCASE("wrong type of a value, found by the experiment loader") {
    const std::string e = error_of("wrong-type", "[[grid]]\n\"train.steps\" = [4, \"many\"]\n");
    CHECK(contains(e, "s.toml:3:"));
    CHECK(contains(e, "train.steps"));
  }
  SUBCASE("out of range method setting") {
    const std::string e = error_of("range", "[set]\n\"method.name\" = \"leapalign\"\n[[grid]]\n\"method.beta\" = [0.5, 2.0]\n");
    CHECK(contains(e, "s.toml:5:"));
    CHECK(contains(e, "beta"));
  }
  SUBCASE("grid key without a list") {
    const std::string e = error_of("not-list", "[[grid]]\n\"train.seed\" = 3\n");
    CHECK(contains(e, "s.toml:3:"));
    CHECK(contains(e, "array of values"));
  }
  SUBCASE("empty axis") {
    const std::string e = error_of("empty", "[[grid]]\n\"train.seed\" = []\n");
    CHECK(contains(e, "s.toml:3:"));
    CHECK(contains(e, "empty axis"));
  }
  SUBCASE("zip lists of different lengths") {
    const std::string e = error_of("zip", "[[zip]]\n\"train.seed\" = [1, 2]\n\"train.lr\" = [1e-3, 2e-3, 3e-3]\n");
    CHECK(contains(e, "s.toml:4:"));
    CHECK(contains(e, "train.lr"));
    CHECK(contains(e, "equal lengths"));
  }
  SUBCASE("a value listed twice") {
    const std::string e = error_of("twice", "[[grid]]\n\"train.seed\" = [1, 2, 1]\n");
    CHECK(contains(e, "s.toml:3:"));
    CHECK(contains(e, "listed twice"));
  }
  SUBCASE("two runs with the same resolved configuration") {
    // beta = 0.3 is leapalign's default, so the two variants are one configuration.
    const std::string e = error_of("dup", "[set]\n\"method.name\" = \"leapalign\"\n[[list]]\n"
                                          "variants = [ { \"method.beta\" = 0.3 }, { \"train.seed\" = 42 } ]\n");
    CHECK(contains(e, "same configuration"));
  }
  SUBCASE("a key set by [set] and by an axis") {
    const std::string e = error_of("conflict", "[set]\n\"train.seed\" = 1\n[[grid]]\n\"train.seed\" = [2, 3]\n");
    CHECK(contains(e, "set twice"));
  }
  SUBCASE("a method setting that a method of the grid does not declare") {
    const std::string e = error_of("undeclared", "[[grid]]\n\"method.name\" = [\"refl\", \"flowbp-lagrange\"]\n"
                                                 "\"method.P\" = [2, 3]\n");
    CHECK(contains(e, "s.toml:4:"));
    CHECK(contains(e, "refl has no setting 'P'"));
  }
  SUBCASE("a misspelt method.name as an axis") {
    const std::string e = error_of("typo", "[[grid]]\n\"method.nme\" = [\"refl\"]\n");
    INFO(e);
    CHECK(contains(e, "method.nme: "));
    CHECK(contains(e, "has no setting 'nme' (did you mean 'name'?)"));
  }
  SUBCASE("method override with a typo, and of an unknown method") {
    const std::string e = error_of("override-typo", "[method_overrides.flowbp-lagrange]\nsuport_scale = 0.2\n"
                                                    "[method_overrides.flowbp-lagrnge]\nK = 2\n");
    CHECK(contains(e, "s.toml:3:"));
    CHECK(contains(e, "did you mean 'support_scale'"));
    CHECK(contains(e, "s.toml:5:"));
    CHECK(contains(e, "did you mean 'flowbp-lagrange'"));
  }
  SUBCASE("malformed TOML") {
    const std::string e = error_of("malformed", "[[grid]\n");
    CHECK(contains(e, "s.toml:2:"));
    CHECK(contains(e, "malformed TOML"));
  }
  SUBCASE("missing base") {
    const std::string dir = runner_test::scratch_dir("spec-nobase");
    runner_test::write_text(dir + "/s.toml", "[[grid]]\n\"train.seed\" = [1]\n");
    CHECK_THROWS_WITH_AS(parse_sweep_file(dir + "/s.toml", catalog()), doctest::Contains("base: missing"), SweepError);
  }
}

TEST_CASE("presets as a sweep axis: every method accepts method.preset, checked per method; runs named by it") {
  const auto runs = resolve("presets", R"(
[set]
"train.steps" = 4
[[grid]]
"method.name" = ["flowbp-sparse", "flowbp-lagrange"]
"method.preset" = ["authors-sd35", "spec-v1"]
[method_overrides.flowbp-sparse]
K = 5
)");
  REQUIRE(runs.size() == 4);
  std::set<std::string> names;
  for (const auto& r : runs) {
    names.insert(r.name);
    const toml::table t = toml::parse(r.resolved_toml);
    const std::string preset = *t["method"]["preset"].value<std::string>();
    CHECK((preset == "authors-sd35" || preset == "spec-v1"));
    CHECK(contains(r.name, "preset-" + preset));
    if (r.method == "flowbp-sparse") {
      CHECK(t["method"]["K"].value<std::int64_t>() == 5);  // the method override wins over the preset
      CHECK(t["method"]["preset_overridden"].value<std::string>() == "K");
    }
    if (r.method == "flowbp-lagrange" && preset == "authors-sd35")
      CHECK(t["method"]["beta"].value<double>() == 0.1);
  }
  CHECK(names.size() == 4);
  CHECK(names.count(runs.front().name));

  // A preset one method of the grid lacks is reported for that method, with a suggestion.
  const std::string e = error_of("preset-missing", R"([[grid]]
"method.name" = ["refl", "full-bp"]
"method.preset" = ["authors-sd35", "spec-v1"]
)");
  CHECK(contains(e, "unknown preset 'authors-sd35' for method 'full-bp'"));
  CHECK(contains(e, "its presets: spec-v1"));
  CHECK_FALSE(contains(e, "for method 'refl'"));
  // A typo in a preset name.
  CHECK(contains(error_of("preset-typo", "[set]\n\"method.name\" = \"refl\"\n\"method.preset\" = \"authors-sd53\"\n"),
                 "did you mean 'authors-sd35'"));
}

TEST_CASE("the shipped sweeps are valid") {
  const std::string root = SOURCE_ROOT;
  const std::vector<std::pair<std::string, std::size_t>> expected = {
      {"quick", 16}, {"main", 24}, {"reward_input", 15}, {"lagrange", 21}, {"bridge_beta", 15}, {"active_budget", 30},
      {"fidelity", 40}, {"image_quick", 16}, {"image_main", 16}, {"image_ink", 16}};
  for (const auto& [name, count] : expected) {
    CAPTURE(name);
    const auto runs = resolve_sweep(parse_sweep_file(root + "/sweeps/" + name + ".toml", catalog()), catalog());
    CHECK(runs.size() == count);
    // docs/SWEEPS.md's table says how many runs each has.
    CHECK(runner_test::read_text(root + "/docs/SWEEPS.md").find("| `sweeps/" + name + ".toml` | " +
                                                                std::to_string(runs.size()) + " |") != std::string::npos);
  }
}
