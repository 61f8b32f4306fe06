
#include "flowbp/did_you_mean.h"
#include "flowbp/params.h"
#include <doctest.h>

using namespace flowbp;

namespace {
std::vector<ParamSpec> specs() {
  return {ParamSpec::integer("K", 4, 1, std::nullopt, "budget"), ParamSpec::real("beta", 0.3, 0.0, 1.0, "bridge"),
          ParamSpec::boolean("trajectory_weighting", true, "w"),
          ParamSpec::choice("weights", "lagrange", {"lagrange", "uniform"}, "rule")};
}
std::string message_of(const std::map<std::string, ParamValue>& given) {
  try {
    resolve_params(specs(), given, "flowbp-lagrange");
  } catch (const SettingError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("defaults fill every declared setting") {
  ParamValues v = resolve_params(specs(), {}, "m");
  CHECK(v.get_int("K") == 4);
  CHECK(v.get_real("beta") == doctest::Approx(0.3));
  CHECK(v.get_bool("trajectory_weighting"));
  CHECK(v.get_choice("weights") == "lagrange");
}

TEST_CASE("an unknown setting names the method and suggests the closest") {
  std::string m = message_of({{"bta", 0.5}});
  CHECK(m.find("method.bta") != std::string::npos);
  CHECK(m.find("flowbp-lagrange") != std::string::npos);
  CHECK(m.find("did you mean 'beta'?") != std::string::npos);
}

TEST_CASE("out of range and wrong types are refused with the range") {
  CHECK(message_of({{"beta", 1.5}}).find("method.beta = 1.5 is out of range [0, 1]") != std::string::npos);
  CHECK(message_of({{"K", std::int64_t{0}}}).find("out of range >= 1") != std::string::npos);
  CHECK(message_of({{"K", 2.5}}).find("expected int") != std::string::npos);
  CHECK(message_of({{"weights", std::string("unifrm")}}).find("did you mean 'uniform'?") != std::string::npos);
  CHECK(message_of({{"trajectory_weighting", std::int64_t{1}}}).find("expected bool") != std::string::npos);
}

TEST_CASE("an integer is accepted where a real is declared, and whole reals as ints") {
  ParamValues v = resolve_params(specs(), {{"beta", std::int64_t{1}}, {"K", 3.0}}, "m");
  CHECK(v.get_real("beta") == 1.0);
  CHECK(v.get_int("K") == 3);
}

TEST_CASE("text values parse to the declared type") {
  auto s = specs();
  CHECK(std::get<std::int64_t>(parse_param_text(s[0], "12")) == 12);
  CHECK(std::get<double>(parse_param_text(s[1], "0.25")) == 0.25);
  CHECK(std::get<bool>(parse_param_text(s[2], "false")) == false);
  CHECK(std::get<std::string>(parse_param_text(s[3], "\"uniform\"")) == "uniform");
  CHECK_THROWS_AS(parse_param_text(s[0], "12x"), SettingError);
  CHECK_THROWS_WITH_AS(parse_param_text(s[3], "cubic"), doctest::Contains("not one of {lagrange, uniform}"),
                       SettingError);
}

TEST_CASE("did you mean finds near misses and affixes, and stays quiet otherwise") {
  std::vector<std::string> names = {"refl", "draft-lv", "drtune", "leapalign", "flowbp-lagrange"};
  CHECK(closest_match("leapalgin", names) == "leapalign");
  CHECK(closest_match("lagrange", names) == "flowbp-lagrange");
  CHECK(closest_match("zzzzzzzz", names).empty());
  CHECK(did_you_mean("drtun", names) == " (did you mean 'drtune'?)");
  CHECK(edit_distance("kitten", "sitting") == 3);
}
