// [method]: the settings are validated by the real plugins, and their errors come
// back with the place the user wrote the setting.

#include "test_config_fixture.h"
#include <doctest.h>

using namespace flowbp;
using config_test::error_of;
using config_test::have;
using config_test::registry;
using config_test::catalog;

TEST_CASE("every loaded method resolves with its defaults, each setting filled") {
  if (registry().names().empty()) {
    MESSAGE("no method plugin is built yet: method checks skipped");
    return;
  }
  for (const auto& name : registry().names()) {
    CAPTURE(name);
    const Experiment e = parse_experiment("", "exp.toml", {parse_override("method.name=" + name, "--method")}, catalog());
    CHECK(e.method == name);
    CHECK(e.method_checked);
    const std::string text = resolved_toml(e);
    for (const auto& spec : registry().get(name).settings()) {
      CAPTURE(spec.name);
      CHECK(e.method_params.has(spec.name));
      CHECK(e.resolved["method"][spec.name]);
      CHECK(text.find("\n" + spec.name + " = ") != std::string::npos);
    }
    // A run's resolved config.toml loads back to the same run.
    CHECK(config_id(parse_experiment(text, "config.toml", {}, catalog())) == config_id(e));
  }
}

TEST_CASE("flowbp-lagrange settings: given, defaulted, overridden") {
  if (!have("flowbp-lagrange")) {
    MESSAGE("flowbp-lagrange is not built yet: skipped");
    return;
  }
  const Experiment e = parse_experiment("[method]\nname = \"flowbp-lagrange\"\nK = 6\nbeta = 0.25\n", "exp.toml",
                                        {parse_override("method.P=2", "--set")}, catalog());
  CHECK(e.method_params.get_int("K") == 6);
  CHECK(e.method_params.get_real("beta") == 0.25);
  CHECK(e.method_params.get_int("P") == 2);
  CHECK(e.method_params.get_choice("weights") == "lagrange");  // default
  CHECK(e.resolved["method"]["K"].value<std::int64_t>() == 6);
  bool found = false;
  for (const auto& [k, v] : e.leaves())
    if (k == "method.K") found = std::get<std::int64_t>(v) == 6;
  CHECK(found);
  // An integral real is accepted for an integer setting, and resolves to the same run.
  const Experiment real_k = parse_experiment("[method]\nK = 6.0\nbeta = 0.25\nP = 2\n", "exp.toml", {}, catalog());
  CHECK(config_id(real_k) == config_id(e));
  // A different setting is a different run.
  CHECK(config_id(parse_experiment("[method]\nK = 5\n", "exp.toml", {}, catalog())) !=
        config_id(parse_experiment("[method]\nK = 6\n", "exp.toml", {}, catalog())));
}

TEST_CASE("method errors carry the file position or the override origin") {
  if (!have("flowbp-lagrange")) {
    MESSAGE("flowbp-lagrange is not built yet: skipped");
    return;
  }
  CHECK(error_of("[method]\nname = \"flowbp-lagrange\"\nKk = 4\n") ==
        "exp.toml:3:1: method.Kk: unknown setting for method 'flowbp-lagrange' (did you mean 'K'?)");
  // A misspelt key of [method] itself (the default method has no setting of that name).
  CHECK(error_of("[method]\nnme = \"refl\"\n") ==
        "exp.toml:2:1: method.nme: unknown setting for method 'flowbp-lagrange' (did you mean 'name'?)");
  CHECK(error_of("[method]\nK = \"four\"\n") ==
        "exp.toml:2:1: method.K: expected integer >= 2, got string \"four\" (method 'flowbp-lagrange')");
  CHECK(error_of("[method]\nK = 4\n", {parse_override("method.K=1", "sweeps/x.toml:12")}) ==
        "sweeps/x.toml:12: method.K: 1 is out of range: expected integer >= 2 (method 'flowbp-lagrange')");
  CHECK(error_of("[method]\nK = [1]\n") == "exp.toml:2:1: method.K: expected integer >= 2, got array of integers [1] (method 'flowbp-lagrange')");
  CHECK(error_of("[method]\nname = 3\n") == "exp.toml:2:1: method.name: expected a method name (string), got integer 3");
  const std::string unknown = error_of("\n[method]\nname = \"flowbp-lagrang\"\n");
  CHECK(unknown.rfind("exp.toml:3:1: method.name: unknown method 'flowbp-lagrang' (did you mean 'flowbp-lagrange'?)",
                      0) == 0);
  CHECK(error_of("", {parse_override("method.name=nosuch", "--method")}).rfind("--method: method.name: unknown method 'nosuch'", 0) == 0);
}

TEST_CASE("shape checks of a plugin (K <= N) point at the setting") {
  if (!have("flowbp-sparse")) {
    MESSAGE("flowbp-sparse is not built yet: skipped");
    return;
  }
  CHECK(error_of("[sampling]\nsteps = 4\n[method]\nname = \"flowbp-sparse\"\nK = 6\n") ==
        "exp.toml:5:1: method.K = 6 must be <= N = 4 (method 'flowbp-sparse')");
  CHECK(error_of("[sampling]\nsteps = 4\n[method]\nname = \"flowbp-sparse\"\nK = 3\n") == "");
  // A default that no longer fits a smaller N is reported at the [method] section.
  const std::string from_default = error_of("[sampling]\nsteps = 2\n[method]\nname = \"flowbp-sparse\"\n");
  CHECK(from_default.rfind("exp.toml:3:1: method.K = ", 0) == 0);
  CHECK(from_default.find("must be <= N = 2") != std::string::npos);
}

TEST_CASE("without a registry the method's settings are kept as given") {
  const std::string path = config_test::write_file("unchecked.toml", "[method]\nname = \"anything\"\nK = 3\nx = \"y\"\n");
  const Experiment e = load_experiment(path, {parse_override("method.beta=0.5", "--set")}, config_test::catalog_without_methods());
  CHECK_FALSE(e.method_checked);
  CHECK(e.method == "anything");
  CHECK(e.method_params.get_int("K") == 3);
  CHECK(e.method_params.get_real("beta") == 0.5);
  CHECK(e.method_params.get_choice("x") == "y");
  CHECK(resolved_toml(e).find("[method]\nK = 3\nbeta = 0.5\nname = \"anything\"\npreset = \"\"\nx = \"y\"\n") !=
        std::string::npos);
}

TEST_CASE("method.preset: its values under explicit settings, recorded in the resolved configuration") {
  if (!have("flowbp-bridge")) {
    MESSAGE("flowbp-bridge is not built yet: skipped");
    return;
  }
  const std::string file = "[method]\nname = \"flowbp-bridge\"\npreset = \"authors-sd35\"\nK = 7\n";
  const Experiment e = parse_experiment(file, "exp.toml", {}, catalog());
  CHECK(e.method_preset == "authors-sd35");
  CHECK(e.method_params.get_int("K") == 7);                // explicit wins
  CHECK(e.method_params.get_real("beta") == 0.5);          // from the preset
  CHECK(e.method_params.get_choice("grad_rescale_scope") == "surrogate");
  CHECK(e.method_params.get_choice("late_bias") == "steps");  // a default the preset names too
  CHECK(e.resolved["method"]["preset"].value<std::string>() == "authors-sd35");
  CHECK(e.resolved["method"]["preset_overridden"].value<std::string>() == "K");
  const std::string values = *e.resolved["method"]["preset_values"].value<std::string>();
  CHECK(values.rfind("K = 5, late_bias_gamma = 4.0, late_bias = \"steps\"", 0) == 0);
  CHECK(values.find("beta = 0.5") != std::string::npos);
  // The same as the log's /config attributes.
  const auto all_leaves = e.leaves();
  std::map<std::string, SettingValue> leaves(all_leaves.begin(), all_leaves.end());
  CHECK(std::get<std::string>(leaves.at("method.preset")) == "authors-sd35");
  CHECK(std::get<std::string>(leaves.at("method.preset_overridden")) == "K");
  CHECK(std::get<std::int64_t>(leaves.at("method.K")) == 7);
  // config.toml loads back to the same run (its records are recomputed, not read).
  const std::string text = resolved_toml(e);
  CHECK(text.find("preset = \"authors-sd35\"\npreset_overridden = \"K\"\npreset_values = \"K = 5, ") != std::string::npos);
  CHECK(config_id(parse_experiment(text, "config.toml", {}, catalog())) == config_id(e));
  // A preset is a different run from the defaults, and the same values written out are the same run
  // except for the record of the preset.
  CHECK(config_id(parse_experiment("[method]\nname = \"flowbp-bridge\"\n", "exp.toml", {}, catalog())) != config_id(e));
  // --preset / --set reach it as an override, and a setting's --set still wins.
  const Experiment set = parse_experiment("[method]\nname = \"flowbp-bridge\"\n", "exp.toml",
                                          {parse_override("method.preset=authors-flux2", "--preset"),
                                           parse_override("method.beta=0.25", "--set")},
                                          catalog());
  CHECK(set.method_params.get_int("K") == 3);
  CHECK(set.method_params.get_real("beta") == 0.25);
  CHECK(set.resolved["method"]["preset_overridden"].value<std::string>() == "beta");
  // No preset: "" and no records.
  const Experiment none = parse_experiment("[method]\nname = \"flowbp-bridge\"\n", "exp.toml", {}, catalog());
  CHECK(none.resolved["method"]["preset"].value<std::string>() == "");
  CHECK_FALSE(none.resolved["method"]["preset_values"]);
  CHECK(none.method_params.get_int("K") == 8);
}

TEST_CASE("method.preset errors: unknown names with a did-you-mean, preset values that do not fit, types") {
  if (!have("flowbp-sparse") || !have("flowbp-bridge")) {
    MESSAGE("plugins are not built yet: skipped");
    return;
  }
  CHECK(error_of("[method]\nname = \"flowbp-bridge\"\npreset = \"authors-sd53\"\n") ==
        "exp.toml:3:1: method.preset: unknown preset 'authors-sd53' for method 'flowbp-bridge' (did you mean "
        "'authors-sd35'?); its presets: authors-sd35, authors-flux1, authors-flux2, spec-v1");
  CHECK(error_of("[method]\nname = \"flowbp-bridge\"\n", {parse_override("method.preset=spec_v1", "--preset")})
            .rfind("--preset: method.preset: unknown preset 'spec_v1' for method 'flowbp-bridge' (did you mean "
                   "'spec-v1'?)",
                   0) == 0);
  // A preset's value that does not fit the run is reported where the preset was named.
  CHECK(error_of("[sampling]\nsteps = 3\n[method]\nname = \"flowbp-sparse\"\npreset = \"authors-sd35\"\n") ==
        "exp.toml:5:1: method.K = 4 must be <= N = 3 (set by method.preset = \"authors-sd35\") (method 'flowbp-sparse')");
  // … unless the setting was given: then at the setting.
  CHECK(error_of("[sampling]\nsteps = 3\n[method]\nname = \"flowbp-sparse\"\npreset = \"authors-sd35\"\nK = 5\n") ==
        "exp.toml:6:1: method.K = 5 must be <= N = 3 (method 'flowbp-sparse')");
  CHECK(error_of("[method]\nname = \"flowbp-sparse\"\npreset = 3\n") ==
        "exp.toml:3:1: method.preset: expected a preset name (string), got integer 3");
  CHECK(error_of("[method]\nname = \"full-bp\"\npreset = \"authors-sd35\"\n").find("its presets: spec-v1") !=
        std::string::npos);
}
