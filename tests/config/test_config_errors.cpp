// Bad experiment files and overrides: each error names the file, line, column and
// dotted key, says what was expected, and suggests a near name.

#include "test_config_fixture.h"
#include <doctest.h>

using namespace flowbp;
using config_test::error_of;

TEST_CASE("an unknown key names file:line:col and suggests the key meant") {
  CHECK(error_of("[train]\nsteps = 10\nlerning_rate = 0.1\n") ==
        "exp.toml:3:1: train.lerning_rate: unknown key (did you mean 'lr'?)");
  CHECK(error_of("[train]\n  bacth = 8\n") == "exp.toml:2:3: train.bacth: unknown key (did you mean 'batch'?)");
  CHECK(error_of("[sampling]\nnum_steps = 8\n") ==
        "exp.toml:2:1: sampling.num_steps: unknown key (did you mean 'steps'?)");
  CHECK(error_of("[eval]\nzzzzzz = 1\n") == "exp.toml:2:1: eval.zzzzzz: unknown key");
}

TEST_CASE("an unknown section is named with a suggestion") {
  CHECK(error_of("[trian]\nsteps = 1\n") == "exp.toml:1:2: trian: unknown section (did you mean 'train'?)");
  CHECK(error_of("lr = 0.1\n") == "exp.toml:1:1: lr: unknown section");
  CHECK(error_of("train = 3\n") == "exp.toml:1:1: train: expected a section [train], got integer 3");
}

TEST_CASE("a wrong type names the expected type and range") {
  CHECK(error_of("[train]\nsteps = \"ten\"\n") ==
        "exp.toml:2:1: train.steps: expected integer in [1, 1000000000], got string \"ten\"");
  CHECK(error_of("[train]\nsteps = 2.5\n") == "exp.toml:2:1: train.steps: expected integer in [1, 1000000000], got real 2.5");
  CHECK(error_of("[train]\nlr = true\n") == "exp.toml:2:1: train.lr: expected real in (0, 3.4e+38], got bool true");
  CHECK(error_of("[backbone]\ncache_dir = 3\n") == "exp.toml:2:1: backbone.cache_dir: expected string, got integer 3");
  CHECK(error_of("[eval]\nheld_out_conditions = [0, \"one\"]\n") ==
        "exp.toml:2:1: eval.held_out_conditions: expected array of integers each >= 0, got an array holding string \"one\"");
  CHECK(error_of("[eval]\nheld_out_conditions = 2\n") ==
        "exp.toml:2:1: eval.held_out_conditions: expected array of integers each >= 0, got integer 2");
}

TEST_CASE("a value out of range names the range") {
  CHECK(error_of("[sampling]\nsteps = 0\n") == "exp.toml:2:1: sampling.steps: 0 is out of range: expected integer in [1, 100000]");
  CHECK(error_of("[sampling]\nshift = 0\n") == "exp.toml:2:1: sampling.shift: 0.0 is out of range: expected real in [0.01, 100]");
  CHECK(error_of("[backbone]\np_uncond = 1.5\n") ==
        "exp.toml:2:1: backbone.p_uncond: 1.5 is out of range: expected real in [0, 1]");
  CHECK(error_of("[train]\nlr = nan\n") == "exp.toml:2:1: train.lr: nan is out of range: expected real in (0, 3.4e+38]");
  CHECK(error_of("[train]\nmax_grad_norm = inf\n") ==
        "exp.toml:2:1: train.max_grad_norm: inf is out of range: expected real > 0");
  CHECK(error_of("[eval]\nheld_out_conditions = [-1]\n") ==
        "exp.toml:2:1: eval.held_out_conditions: element -1 is out of range: expected array of integers each >= 0");
}

TEST_CASE("a choice outside its set lists the choices and the near one") {
  CHECK(error_of("[backbone]\nt_sampling = \"logit-normal\"\n") ==
        "exp.toml:2:1: backbone.t_sampling: 'logit-normal' is not one of {uniform, logit_normal} "
        "(did you mean 'logit_normal'?)");
  CHECK(error_of("[backbone]\nkind = \"toygmm\"\n") ==
        "exp.toml:2:1: backbone.kind: 'toygmm' is not one of {dit, torchscript, toy-gmm} (did you mean 'toy-gmm'?)");
  CHECK(error_of("[train]\ndevice = \"gpu\"\n") ==
        "exp.toml:2:1: train.device: 'gpu' is not a device: expected \"cpu\", \"cuda\" or \"cuda:<index>\" "
        "(did you mean 'cpu'?)");
  CHECK(error_of("[train]\ndevice = \"cuda:x\"\n").find("train.device: 'cuda:x' is not a device") != std::string::npos);
}

TEST_CASE("keys that depend on each other are checked together") {
  CHECK(error_of("[backbone]\nclasses = 3\n[eval]\nheld_out_conditions = [0, 3]\n") ==
        "exp.toml:4:1: eval.held_out_conditions: condition 3 does not exist: backbone.kind = \"toy-gmm\" (3 conditions) gives "
        "conditions 0..2");
  CHECK(error_of("[eval]\nheld_out_conditions = [1, 1]\n") ==
        "exp.toml:2:1: eval.held_out_conditions: condition 1 is listed twice");
  // The default (every class) follows backbone.classes.
  CHECK(config_test::parse("[backbone]\nclasses = 2\n").eval.held_out_conditions == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("malformed TOML gives the line and column of the syntax error") {
  const std::string e = error_of("[train]\nsteps = 3\nlr = = 2\n");
  CHECK(e.rfind("exp.toml:3:", 0) == 0);
  CHECK(e.find("invalid TOML") != std::string::npos);
  CHECK(error_of("[train\n").rfind("exp.toml:1:", 0) == 0);
  // toml++ itself rejects a key given twice.
  CHECK(error_of("[train]\nlr = 1\nlr = 2\n").rfind("exp.toml:3:", 0) == 0);
}

TEST_CASE("override errors name the override's origin") {
  CHECK(error_of("", {parse_override("train.lerning_rate=0.1", "sweeps/x.toml:12")}) ==
        "sweeps/x.toml:12: train.lerning_rate: unknown key (did you mean 'lr'?)");
  CHECK(error_of("", {parse_override("train.steps=ten", "--set")}) ==
        "--set: train.steps: expected integer in [1, 1000000000], got string \"ten\"");
  CHECK(error_of("[train]\nsteps = 5\n", {parse_override("train.steps=0", "--set")}) ==
        "--set: train.steps: 0 is out of range: expected integer in [1, 1000000000]");
  CHECK(error_of("", {parse_override("trian.steps=5", "--set")}) ==
        "--set: trian.steps: unknown section 'trian' (did you mean 'train'?)");
  CHECK(error_of("", {parse_override("steps=5", "--set")}) ==
        "--set: steps: an override needs a dotted key <section>.<key>, e.g. method.K");
  CHECK(error_of("", {parse_override("train.a.b=5", "--set")}) ==
        "--set: train.a.b: sections have no sub-tables; expected <section>.<key>");
}

TEST_CASE("a missing or unreadable experiment file is named") {
  CHECK_THROWS_WITH_AS(load_experiment("/nonexistent/exp.toml", {}, config_test::catalog()),
                       "/nonexistent/exp.toml: cannot open the experiment file", ConfigError);
  CHECK_THROWS_AS(load_experiment("/nonexistent/exp.toml", {}, config_test::catalog_without_methods()), ConfigError);
  const std::string path = config_test::write_file("bad.toml", "[train]\nsteps = -1\n");
  CHECK_THROWS_WITH_AS(load_experiment(path, {}, config_test::catalog_without_methods()),
                       (path + ":2:1: train.steps: -1 is out of range: expected integer in [1, 1000000000]").c_str(), ConfigError);
}

TEST_CASE("backbone and reward kinds come from the catalog, each with its own keys") {
  CHECK(error_of("[reward]\nkind = \"mode-pref\"\n") ==
        "exp.toml:2:1: reward.kind: 'mode-pref' is not one of {classifier, ink, latent-target, mode-preference, torchscript} (did you mean "
        "'mode-preference'?)");
  CHECK(error_of("[reward]\nmodel = \"r.pt\"\n") ==
        "exp.toml:2:1: reward.model: not a setting of reward.kind = \"mode-preference\" (it belongs to \"torchscript\"; "
        "`flowbp rewards mode-preference` lists the settings)");
  CHECK(error_of("[backbone]\nhiden = 64\n") ==
        "exp.toml:2:1: backbone.hiden: unknown key for backbone.kind = \"toy-gmm\" (did you mean 'hidden'?)");
  CHECK(error_of("[backbone]\nkind = \"torchscript\"\nvelocity_model = \"v.pt\"\nlatent_shape = [2]\n"
                 "[reward]\nkind = \"mode-preference\"\n") ==
        "exp.toml:6:1: reward.kind: 'mode-preference' scores samples of backbone kind {toy-gmm}, not 'torchscript' "
        "(default for it: 'torchscript')");
  // A kind's keys are typed and ranged like any other.
  CHECK(error_of("[reward]\nwidth = -1\n") == "exp.toml:2:1: reward.width: -1.0 is out of range: expected real > 0");
  // The resolved configuration holds the chosen kinds' keys only, the reward kind spelt out.
  const Experiment e = config_test::parse("[reward]\nwidth = 0.5\n");
  CHECK(e.reward.kind == "mode-preference");
  CHECK(e.reward.settings.get_real("width") == 0.5);
  CHECK(resolved_toml(e).find("velocity_model") == std::string::npos);
  CHECK(resolved_toml(e).find("[reward]\nkind = \"mode-preference\"\nloss_scale = 1.0\npreferred_fraction = 0.5\n") !=
        std::string::npos);
}

TEST_CASE("a directory given as the experiment file is refused, not read as an empty file") {
  const std::string dir = config_test::temp_dir();
  CHECK_THROWS_WITH_AS(load_experiment(dir, {}, config_test::catalog()),
                       (dir + ": is a directory; give the experiment's .toml file (e.g. experiments/toy.toml)").c_str(),
                       ConfigError);
}

TEST_CASE("extreme schedule shifts are refused by range, not by a method deep inside") {
  CHECK(error_of("[sampling]\nshift = 1e308\n") ==
        "exp.toml:2:1: sampling.shift: 1e+308 is out of range: expected real in [0.01, 100]");
  CHECK(error_of("[sampling]\nshift = 1e-300\n") ==
        "exp.toml:2:1: sampling.shift: 1e-300 is out of range: expected real in [0.01, 100]");
}
