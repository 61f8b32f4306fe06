
#include "flowbp/did_you_mean.h"
#include "flowbp/settings.h"
#include <doctest.h>

using namespace flowbp;

namespace {
std::vector<SettingSpec> specs() {
  return {SettingSpec::integer("K", 4, 1, std::nullopt, "budget"), SettingSpec::real("beta", 0.3, 0.0, 1.0, "bridge"),
          SettingSpec::boolean("trajectory_weighting", true, "w"),
          SettingSpec::choice("weights", "lagrange", {"lagrange", "uniform"}, "rule")};
}
std::string message_of(const std::map<std::string, SettingValue>& given) {
  try {
    resolve_settings(specs(), given, "method", "method 'flowbp-lagrange'");
  } catch (const SettingError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("defaults fill every declared setting") {
  SettingValues v = resolve_settings(specs(), {}, "method", "m");
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
  CHECK(message_of({{"beta", 1.5}}) == "method.beta: 1.5 is out of range: expected real in [0, 1]");
  CHECK(message_of({{"K", std::int64_t{0}}}) == "method.K: 0 is out of range: expected integer >= 1");
  CHECK(message_of({{"K", 2.5}}) == "method.K: expected integer >= 1, got real 2.5");
  CHECK(message_of({{"weights", std::string("unifrm")}}).find("did you mean 'uniform'?") != std::string::npos);
  CHECK(message_of({{"trajectory_weighting", std::int64_t{1}}}).find("expected bool") != std::string::npos);
}

TEST_CASE("an integer is accepted where a real is declared, and whole reals as ints") {
  SettingValues v = resolve_settings(specs(), {{"beta", std::int64_t{1}}, {"K", 3.0}}, "method", "m");
  CHECK(v.get_real("beta") == 1.0);
  CHECK(v.get_int("K") == 3);
}

TEST_CASE("a setting error carries the key it is about") {
  try {
    resolve_settings(specs(), {{"beta", 2.0}}, "method", "m");
    FAIL("no error");
  } catch (const SettingError& e) {
    CHECK(e.key() == "method.beta");
  }
  try {
    resolve_settings(specs(), {{"bta", 2.0}}, "reward", "reward kind 'x'");
    FAIL("no error");
  } catch (const SettingError& e) {
    CHECK(e.key() == "reward.bta");
    CHECK(std::string(e.what()) == "reward.bta: unknown setting for reward kind 'x' (did you mean 'beta'?)");
  }
}

TEST_CASE("ranges, expectations and conversions of every type") {
  const auto positive = SettingSpec::positive("lr", 1e-3, "");
  CHECK(positive.expectation() == "real > 0");
  CHECK(positive.range_problem(0.0) == "0.0 is out of range: expected real > 0");
  CHECK(positive.range_problem(1e-9).empty());
  const auto bounded = SettingSpec::integer("steps", 1, 1, 100, "");
  CHECK(bounded.expectation() == "integer in [1, 100]");
  CHECK(bounded.range_problem(std::int64_t{101}) == "101 is out of range: expected integer in [1, 100]");
  const auto list = SettingSpec::int_list("held", 0, "");
  CHECK(list.range_problem(std::vector<std::int64_t>{0, -1}) == "element -1 is out of range: expected array of integers each >= 0");
  const auto path = SettingSpec::path("model", "", "");
  CHECK(std::holds_alternative<SettingValue>(path.convert(std::string("m.pt"))));
  CHECK(std::get<std::string>(path.convert(std::int64_t{3})) == "expected string, got integer 3");
  // A whole real reads as the integer it spells; a huge one does not wrap around.
  CHECK(std::get<std::int64_t>(std::get<SettingValue>(bounded.convert(1e2))) == 100);
  CHECK(std::holds_alternative<std::string>(bounded.convert(1e300)));
  CHECK(format_value(SettingValue{0.5}) == "0.5");
  CHECK(format_value(SettingValue{std::vector<std::int64_t>{1, 2}}) == "[1, 2]");
  CHECK(format_value(SettingValue{std::string("a\"b")}) == "\"a\\\"b\"");
}

TEST_CASE("suggestions come from names and aliases") {
  std::vector<SettingSpec> keys = {SettingSpec::positive("lr", 1e-3, "").with_aliases({"learning_rate"}),
                                   SettingSpec::integer("batch", 1, 1, std::nullopt, "")};
  CHECK(suggest_setting(keys, "learning_rat") == " (did you mean 'lr'?)");
  CHECK(suggest_setting(keys, "bacth") == " (did you mean 'batch'?)");
  CHECK(suggest_setting(keys, "zzzzzz").empty());
  // A name beats another key's alias at the same distance, whatever the order of the keys.
  std::vector<SettingSpec> kinds = {SettingSpec::integer("width", 0, 0, std::nullopt, "").with_aliases({"hidden"}),
                                    SettingSpec::integer("hidden", 1, 1, std::nullopt, "")};
  CHECK(suggest_setting(kinds, "hiden") == " (did you mean 'hidden'?)");
}

TEST_CASE("did you mean finds near misses and affixes, and stays quiet otherwise") {
  std::vector<std::string> names = {"refl", "draft-lv", "drtune", "leapalign", "flowbp-lagrange"};
  CHECK(closest_match("leapalgin", names) == "leapalign");
  CHECK(closest_match("lagrange", names) == "flowbp-lagrange");
  CHECK(closest_match("zzzzzzzz", names).empty());
  CHECK(did_you_mean("drtun", names) == " (did you mean 'drtune'?)");
  CHECK(edit_distance("kitten", "sitting") == 3);
}
