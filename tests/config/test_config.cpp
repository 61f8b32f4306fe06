// Experiment loading: defaults, typed sections, overrides, canonical text and ids.

#include "flowbp/config_schema.h"
#include "test_config_fixture.h"

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest.h>

using namespace flowbp;
using config_test::parse;

namespace {

const SettingValue* leaf(const std::vector<std::pair<std::string, SettingValue>>& leaves, const std::string& key) {
  for (const auto& [k, v] : leaves)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace

TEST_CASE("an empty file resolves to every documented default") {
  const Experiment e = parse("");
  const auto leaves = e.leaves();
  std::vector<SectionKey> keys = experiment_schema();
  for (const auto& spec : backbone_kind("toy-gmm").info().settings) keys.push_back({"backbone", spec});
  for (const auto& spec : reward_kind("mode-preference").info().settings) keys.push_back({"reward", spec});
  for (const auto& key : keys) {
    const SettingSpec& spec = key.spec;
    CAPTURE(key.dotted());
    const SettingValue* v = leaf(leaves, key.dotted());
    REQUIRE(v != nullptr);
    if (spec.type == SettingType::IntList) {
      CHECK(std::get<std::string>(*v) == "[0, 1, 2, 3]");  // held_out_conditions: all classes
    } else if (key.dotted() == "eval.guidance") {
      CHECK(std::get<double>(*v) == 1.0);  // -1 resolves to sampling.guidance
    } else if (key.dotted() == "reward.kind") {
      CHECK(std::get<std::string>(*v) == "mode-preference");  // the toy's default reward
    } else {
      const SettingValue expected =
          std::visit([](const auto& d) -> SettingValue {
            if constexpr (std::is_same_v<std::decay_t<decltype(d)>, std::vector<std::int64_t>>) return std::string();
            else return d;
          }, spec.default_value);
      CHECK(*v == expected);
    }
  }
  CHECK(e.method == "flowbp-lagrange");
  CHECK(e.backbone.kind == "toy-gmm");
  CHECK(e.backbone.settings.get_int("dim") == 2);
  CHECK(e.backbone.settings.get_real("mode_std") == doctest::Approx(0.15));
  CHECK(e.backbone.conditions == 4);
  CHECK(e.backbone.cache_dir.empty());
  CHECK(e.sampling.steps == 25);
  CHECK(e.reward.tau == doctest::Approx(0.9));
  CHECK(e.reward.kind == "mode-preference");
  CHECK(e.reward.settings.get_real("preferred_fraction") == doctest::Approx(0.5));
  CHECK(e.train.lr == doctest::Approx(1e-3));
  CHECK(e.train.seed == 42);
  CHECK(e.train.device == "cpu");
  CHECK(e.eval.steps == 50);
  CHECK(e.eval.held_out_conditions == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(e.eval.noise_seed == 1234);
}

TEST_CASE("values in the file reach the typed sections and the resolved table") {
  const Experiment e = parse(R"(
[backbone]
dim = 3
classes = 6
t_sampling = "logit_normal"
[sampling]
steps = 10
guidance = 2
[train]
lr = 3e-4
device = "cuda:1"
[eval]
held_out_conditions = [5, 1]
)");
  CHECK(e.backbone.settings.get_int("dim") == 3);
  CHECK(e.backbone.settings.get_string("t_sampling") == "logit_normal");
  CHECK(e.sampling.steps == 10);
  CHECK(e.sampling.guidance == 2.0);  // an integer is accepted for a real key
  CHECK(e.train.lr == 3e-4);
  CHECK(e.train.device == "cuda:1");
  CHECK(e.eval.held_out_conditions == std::vector<std::int64_t>{5, 1});
  CHECK(e.resolved["sampling"]["guidance"].is_floating_point());
  CHECK(e.resolved["train"]["lr"].value<double>() == 3e-4);
  CHECK(e.resolved["backbone"]["classes"].value<std::int64_t>() == 6);
}

TEST_CASE("resolved_toml is canonical: equal configurations give equal text and id") {
  const Experiment a = parse("[train]\nlr = 1e-3\nsteps = 300\n[backbone]\ndim = 2\n");
  const Experiment b = parse("[backbone]\n[train]\nsteps = 300\nlr = 0.001\n");
  const Experiment c = parse("");
  CHECK(resolved_toml(a) == resolved_toml(b));
  CHECK(resolved_toml(a) == resolved_toml(c));
  CHECK(config_id(a) == config_id(c));
  const std::string id = config_id(a);
  CHECK(id.size() == 12);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);

  const Experiment d = parse("[train]\nlr = 0.002\n");
  CHECK(config_id(d) != config_id(a));
  const Experiment seed = parse("[train]\nseed = 43\n");
  CHECK(config_id(seed) != config_id(a));

  const std::string text = resolved_toml(a);
  // Sections and keys sorted, one spelling per value.
  CHECK(text.rfind("[backbone]\ncache_dir = \"\"\nclasses = 4\ndim = 2\nhidden = 128\nkind = \"toy-gmm\"\n", 0) == 0);
  CHECK(text.find("\n[eval]\n") < text.find("\n[method]\n"));
  CHECK(text.find("\n[method]\n") < text.find("\n[reward]\n"));
  CHECK(text.find("lr = 0.001\n") != std::string::npos);
  CHECK(text.find("guidance = 1.0\n") != std::string::npos);
  CHECK(text.find("held_out_conditions = [0, 1, 2, 3]\n") != std::string::npos);
  CHECK(text.find("name = \"flowbp-lagrange\"\n") != std::string::npos);

  // The resolved text is itself an experiment that resolves to the same text.
  const Experiment again = parse(text);
  CHECK(resolved_toml(again) == text);
  CHECK(config_id(again) == id);
}

TEST_CASE("reals keep their exact value through the canonical text") {
  const Experiment e = parse("[train]\nlr = 0.0001234567890123\nweight_decay = 1e-12\n");
  const Experiment again = parse(resolved_toml(e));
  CHECK(again.train.lr == e.train.lr);
  CHECK(again.train.weight_decay == 1e-12);
  CHECK(resolved_toml(e).find("weight_decay = 1e-12\n") != std::string::npos);
}

TEST_CASE("overrides are applied after parsing and validated the same way") {
  const Experiment e = parse("[train]\nlr = 0.01\n[sampling]\nsteps = 30\n",
                             {parse_override("train.lr=3e-4", "--set"), parse_override("sampling.steps = 12", "--set"),
                              parse_override("backbone.t_sampling=logit_normal", "--set"),
                              parse_override("eval.held_out_conditions=[1,3]", "sweeps/x.toml:4"),
                              parse_override("backbone.cache_dir=/tmp/cache dir", "--set")});
  CHECK(e.train.lr == 3e-4);
  CHECK(e.sampling.steps == 12);
  CHECK(e.backbone.settings.get_string("t_sampling") == "logit_normal");  // bare words read as strings
  CHECK(e.eval.held_out_conditions == std::vector<std::int64_t>{1, 3});
  CHECK(e.backbone.cache_dir == "/tmp/cache dir");
  // The later override wins.
  const Experiment twice = parse("", {parse_override("train.seed=1", "--set"), parse_override("train.seed=2", "--set")});
  CHECK(twice.train.seed == 2);
  // An override equal to the default gives the same run.
  CHECK(config_id(parse("", {parse_override("train.lr=0.001", "--set")})) == config_id(parse("")));
}

TEST_CASE("parse_override reads key=value and rejects the rest with its origin") {
  const Override o = parse_override(" method.K = 4 ", "--set");
  CHECK(o.key == "method.K");
  CHECK(o.value_text == "4");
  CHECK(o.origin == "--set");
  CHECK(parse_override("reward.kind=\"a=b\"", "--set").value_text == "\"a=b\"");
  CHECK_THROWS_WITH_AS(parse_override("method.K", "--set"),
                       "--set: 'method.K': expected <section>.<key>=<value>, e.g. method.K=4", ConfigError);
  CHECK_THROWS_AS(parse_override("=4", "--set"), ConfigError);
  CHECK_THROWS_AS(parse_override("train.lr=", "--set"), ConfigError);
}

TEST_CASE("leaves give every resolved key with its type, for the run log's /config") {
  const Experiment e = parse("[train]\nseed = 7\n");
  const auto leaves = e.leaves();
  for (std::size_t i = 1; i < leaves.size(); ++i) CHECK(leaves[i - 1].first < leaves[i].first);
  REQUIRE(leaf(leaves, "train.seed"));
  CHECK(std::get<std::int64_t>(*leaf(leaves, "train.seed")) == 7);
  CHECK(std::get<double>(*leaf(leaves, "train.lr")) == 1e-3);
  CHECK(std::get<std::string>(*leaf(leaves, "method.name")) == "flowbp-lagrange");
  CHECK(std::get<std::string>(*leaf(leaves, "train.device")) == "cpu");
}

TEST_CASE("resolved_cache_dir falls back to FLOWBP_CACHE_DIR, then HOME") {
  BackboneConfig b;
  b.cache_dir = "/given";
  CHECK(resolved_cache_dir(b) == "/given");
  b.cache_dir.clear();
  ::setenv("FLOWBP_CACHE_DIR", "/from-env", 1);
  CHECK(resolved_cache_dir(b) == "/from-env");
  ::unsetenv("FLOWBP_CACHE_DIR");
  ::setenv("HOME", "/home/someone", 1);
  CHECK(resolved_cache_dir(b) == "/home/someone/.cache/flowbp");
}
