// The bench's JSON: what it writes, it reads back, and it reads Python's output.
#include <cmath>

#include "json.h"
#include <doctest.h>

using flowbp::bench::Json;
using flowbp::bench::JsonError;

TEST_CASE("json: a written document parses back to the same values") {
  Json doc = Json::object();
  doc.set("name", "flowbp-sparse");
  doc.set("ratio", 1.0625);
  doc.set("pass", false);
  doc.set("rows", Json::array_of(std::vector<int>{25, 50, 100}));
  Json nested = Json::object();
  nested.set("quote \"and\" slash \\", Json());
  doc.set("nested", nested);
  for (int indent : {0, 2}) {
    const Json back = Json::parse(doc.dump(indent));
    CHECK(back.at("name").as_string() == "flowbp-sparse");
    CHECK(back.at("ratio").as_number() == 1.0625);
    CHECK_FALSE(back.at("pass").as_bool());
    REQUIRE(back.at("rows").items().size() == 3);
    CHECK(back.at("rows").items()[2].as_number() == 100);
    CHECK(back.at("nested").at("quote \"and\" slash \\").is_null());
  }
}

TEST_CASE("json: Python's json.dump output, including NaN and unicode escapes") {
  const Json v = Json::parse(R"({"a": [1.5e-3, -2, NaN], "b": "\u00e9x", "c": {}})");
  CHECK(v.at("a").items()[0].as_number() == doctest::Approx(1.5e-3));
  CHECK(v.at("a").items()[1].as_number() == -2);
  CHECK(std::isnan(v.at("a").items()[2].as_number()));
  CHECK(v.at("b").as_string() == "\xc3\xa9x");
  CHECK(v.at("c").members().empty());
}

TEST_CASE("json: malformed input and wrong kinds are errors that say where") {
  CHECK_THROWS_WITH_AS(Json::parse(R"({"a": [1, 2})"), doctest::Contains("at byte"), JsonError);
  CHECK_THROWS_AS(Json::parse("{} x"), JsonError);
  CHECK_THROWS_WITH_AS(Json::parse("{}").at("missing"), doctest::Contains("missing"), JsonError);
  CHECK_THROWS_AS(Json(1.0).as_string(), JsonError);
}
