// The plugins' presets (docs/METHODS.md §0): every plugin ships the authors' released
// configurations and spec-v1; every preset resolves; explicit settings override it; an
// unknown name gets a "did you mean"; and spec-v1 reproduces the first edition's plans
// exactly (tests/plugins/spec_v1_plans.txt, recorded before the second edition).

#include <cstdlib>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "fixture.h"
#include "flowbp/plan.h"
#include "flowbp/schedule.h"
#include "plan_text.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

#ifndef FLOWBP_SPEC_V1_GOLDEN
#error "FLOWBP_SPEC_V1_GOLDEN must name tests/plugins/spec_v1_plans.txt"
#endif

using namespace flowbp;

namespace {

const std::vector<std::string> kAuthors = {"authors-sd35", "authors-flux1", "authors-flux2"};

std::vector<std::string> preset_names(const Method& method) {
  std::vector<std::string> out;
  for (const auto& p : method.presets()) out.push_back(p.name);
  return out;
}

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "W=5 reward_input=endpoint_reconstruction" as first-edition settings, renamed to the
// second edition's (the leap samplers of the first edition are now *_v1).
std::map<std::string, SettingValue> first_edition_settings(const std::string& label) {
  std::map<std::string, SettingValue> out;
  if (label == "defaults") return out;
  std::istringstream words(label);
  std::string word;
  while (words >> word) {
    const auto eq = word.find('=');
    const std::string key = word.substr(0, eq), text = word.substr(eq + 1);
    if (key == "leap_sampler") out[key] = text + "_v1";
    else if (text.find_first_not_of("-0123456789") == std::string::npos) out[key] = std::int64_t{std::stoll(text)};
    else if (text.find_first_not_of("-0123456789.e") == std::string::npos) out[key] = std::stod(text);
    else out[key] = text;
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(' ');
  const auto b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

TEST_CASE("every plugin ships the authors' presets and spec-v1, and every preset resolves") {
  for (const auto& name : plugtest::method_names()) {
    CAPTURE(name);
    const Method& method = plugtest::method(name);
    const std::vector<SettingSpec> specs = method.settings();
    const auto names = preset_names(method);
    CHECK(has(names, "spec-v1"));
    // full-bp is not one of the authors' methods: they released no config for it.
    for (const auto& a : kAuthors) CHECK(has(names, a) == (name != "full-bp"));
    for (const auto& preset : method.presets()) {
      CAPTURE(preset.name);
      CHECK_FALSE(preset.description.empty());
      CHECK_FALSE(preset.source.empty());
      CHECK_FALSE(preset.values.empty());
      std::set<std::string> seen;
      for (const auto& [setting, value] : preset.values) {
        CAPTURE(setting);
        CHECK(seen.insert(setting).second);  // each setting once
        const SettingSpec* spec = find_setting(specs, setting);
        REQUIRE(spec != nullptr);
        const auto converted = spec->convert(value);
        REQUIRE(std::holds_alternative<SettingValue>(converted));
        CHECK(spec->range_problem(std::get<SettingValue>(converted)).empty());
      }
      // The authors train at N = 25 (SD3.5-M with a static shift of 3).
      const SettingValues values = resolve_method_params(method, preset.name, {}, 25, 1.0);
      for (const auto& [setting, value] : preset.values)
        CHECK(values.all().at(setting) == std::get<SettingValue>(find_setting(specs, setting)->convert(value)));
      if (preset.name != "spec-v1") CHECK_NOTHROW(resolve_method_params(method, preset.name, {}, 25, 3.0));
      // … and their plans are valid.
      const Schedule schedule = Schedule::make(25);
      std::mt19937_64 rng(1);
      for (int k = 0; k < 20; ++k) {
        const Plan plan = method.plan(values, PlanContext{schedule, rng});
        CHECK_NOTHROW(check_plan(plan, 25, name, true));
      }
    }
  }
}

TEST_CASE("explicit settings override a preset; an unknown preset suggests the closest name") {
  const Method& bridge = plugtest::method("flowbp-bridge");
  const SettingValues preset = resolve_method_params(bridge, "authors-sd35", {}, 25);
  CHECK(preset.get_int("K") == 5);
  CHECK(preset.get_real("beta") == 0.5);
  CHECK(preset.get_choice("grad_rescale_scope") == "surrogate");
  const SettingValues overridden = resolve_method_params(bridge, "authors-sd35", {{"K", std::int64_t{7}}}, 25);
  CHECK(overridden.get_int("K") == 7);
  CHECK(overridden.get_real("beta") == 0.5);
  // No preset: the defaults.
  CHECK(resolve_method_params(bridge, "", {}, 25).get_int("K") == 8);

  std::string message;
  try {
    resolve_method_params(bridge, "authors-sd53", {}, 25);
  } catch (const SettingError& e) {
    message = e.what();
    CHECK(e.key() == "method.preset");
  }
  CHECK(message.find("unknown preset 'authors-sd53' for method 'flowbp-bridge' (did you mean 'authors-sd35'?)") !=
        std::string::npos);
  CHECK(message.find("authors-flux2") != std::string::npos);  // and lists them
  CHECK(preset_values_text(find_preset(bridge, "authors-flux2")).rfind("K = 3, late_bias_gamma = 4.0,", 0) == 0);
}

TEST_CASE("the authors' presets carry their released values") {
  auto value = [](const char* method, const char* preset, const char* setting) {
    return resolve_method_params(plugtest::method(method), preset, {}, 25).all().at(setting);
  };
  CHECK(value("refl", "authors-sd35", "W") == SettingValue(std::int64_t{11}));
  CHECK(value("flowbp-sparse", "authors-flux1", "K") == SettingValue(std::int64_t{3}));
  CHECK(value("flowbp-sparse", "authors-sd35", "grad_rescale_strength") == SettingValue(0.5));
  CHECK(value("flowbp-bridge", "authors-flux2", "beta") == SettingValue(1.0));
  CHECK(value("flowbp-lagrange", "authors-sd35", "s_max") == SettingValue(std::int64_t{10}));
  CHECK(value("flowbp-lagrange", "authors-flux1", "s_max") == SettingValue(std::int64_t{-1}));
  CHECK(value("flowbp-lagrange", "authors-flux1", "grad_rescale_strength") == SettingValue(0.5));
  CHECK(value("flowbp-lagrange", "authors-flux2", "tail_ratio") == SettingValue(0.7));
  CHECK(value("flowbp-lagrange", "authors-sd35", "residual_floor") == SettingValue(0.2));
  CHECK(value("drtune", "authors-sd35", "train_span") == SettingValue(std::string("from_stop")));
  CHECK(value("leapalign", "authors-flux2", "leap_sampler") == SettingValue(std::string("uniform")));
  // FLUX.2 Lagrange: leaps only in the last ceil(0.7 N) = 18 steps at N = 25.
  const Schedule schedule = Schedule::make(25);
  int highest = 0;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    const SettingValues v = resolve_method_params(plugtest::method("flowbp-lagrange"), "authors-flux2", {}, 25);
    std::mt19937_64 rng(seed);
    highest = std::max(highest, plugtest::method("flowbp-lagrange").plan(v, PlanContext{schedule, rng}).j);
  }
  CHECK(highest == 18);
}

TEST_CASE("spec-v1 reproduces the first edition's plans exactly (index stream included)") {
  std::ifstream golden(FLOWBP_SPEC_V1_GOLDEN);
  REQUIRE(golden.good());
  // FLOWBP_WRITE_SPEC_V1_GOLDEN=<file>: write this build's hashes there (in the golden's
  // layout) instead of checking; only for re-recording after a change of plan_text itself,
  // from a build whose plans the check still accepted.
  const char* rewrite = std::getenv("FLOWBP_WRITE_SPEC_V1_GOLDEN");
  std::ofstream rewritten;
  if (rewrite) rewritten.open(rewrite);
  std::string line, header;
  int cases = 0, compared = 0;
  while (std::getline(golden, line)) {
    if (line.rfind("# ", 0) == 0 && line.find(" | ") != std::string::npos) {
      header = line.substr(2);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    ++cases;
    // header: "<method> | <label> | N=<n> shift=<x>"
    const auto bar1 = header.find(" | "), bar2 = header.rfind(" | ");
    const std::string name = trim(header.substr(0, bar1));
    const std::string label = trim(header.substr(bar1 + 3, bar2 - bar1 - 3));
    int n = 0;
    double shift = 0;
    REQUIRE(std::sscanf(header.substr(bar2 + 3).c_str(), "N=%d shift=%lf", &n, &shift) == 2);
    CAPTURE(header);
    const Method& method = plugtest::method(name);
    SettingValues values;
    bool refused = false;
    try {
      values = resolve_method_params(method, "spec-v1", first_edition_settings(label), n, shift);
    } catch (const SettingError&) {
      refused = true;
    }
    if (line == "refused") {
      CHECK(refused);
      if (rewrite) rewritten << "# " << header << "\nrefused\n";
      continue;
    }
    REQUIRE_FALSE(refused);
    const Schedule schedule = Schedule::make(n, shift);
    std::string all;
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
      std::mt19937_64 rng(seed);
      for (int k = 0; k < 5; ++k) {
        const Plan plan = method.plan(values, PlanContext{schedule, rng});
        all += plugtest::plan_text(plan) + "\n";
        // The fields the golden text predates: the first edition logged one ρ and took the
        // hinge of the mean reward.
        CHECK(plan.hinge == Hinge::OfMeanReward);
        const bool per_segment = label.find("grad_rescale_scope=segment") != std::string::npos;
        CHECK(std::isnan(plan.grad_rescale_factor_post) != per_segment);
      }
      all += "next=" + std::to_string(rng()) + "\n";
    }
    if (rewrite) {
      rewritten << "# " << header << "\n" << plugtest::golden_digest(all) << " | "
                << plugtest::golden_digest(plugtest::without_rho(all)) << "\n";
      continue;
    }
    // The first edition logged an average of Bridge's two per-segment factors; the second
    // logs both (the plan itself is unchanged), so only that case compares without ρ.
    const auto bar = line.find(" | ");
    const std::string want = line.substr(0, bar), want_without_rho = line.substr(bar + 3);
    // Where the first edition's ρ came from a round-off weight (an active anchor whose
    // weight is zero in exact arithmetic came out as 5.5e-17, giving ρ and a grad scale
    // ≈ 2e17), that weight is now exactly zero and ρ is 1: the plan's structure (indices,
    // actives, inputs, pins, the index stream) must still be the first edition's.
    const bool roundoff_rho = std::strtod(want.substr(want.find(' ', want.find(' ') + 1)).c_str(), nullptr) > 1e12;
    if (roundoff_rho)
      CHECK_MESSAGE(plugtest::same_structure(plugtest::golden_digest(all), want),
                    plugtest::golden_digest(all) << " vs " << want);
    else if (label.find("grad_rescale_scope=segment") != std::string::npos)
      CHECK_MESSAGE(plugtest::same_digest(plugtest::golden_digest(plugtest::without_rho(all)), want_without_rho),
                    plugtest::golden_digest(plugtest::without_rho(all)) << " vs " << want_without_rho);
    else
      CHECK_MESSAGE(plugtest::same_digest(plugtest::golden_digest(all), want),
                    plugtest::golden_digest(all) << " vs " << want);
    ++compared;
  }
  CHECK(cases == 184);
  CHECK(compared == 172);
}
