// The t quantile against published values (scipy.stats.t.ppf), and the seed summary.

#include <cmath>
#include <set>

#include "stats.h"
#include "tables.h"
#include <doctest.h>

using namespace flowbp::analysis;

TEST_CASE("student t quantile matches reference values") {
  struct Ref {
    double p, dof, t;
  };
  const Ref refs[] = {{0.975, 1, 12.706204736432095}, {0.975, 2, 4.302652729911275},  {0.975, 3, 3.182446305284263},
                      {0.975, 4, 2.7764451051977987}, {0.975, 10, 2.2281388519649385}, {0.975, 29, 2.045229642132703},
                      {0.975, 30, 2.0422724563012373}, {0.975, 100, 1.9839715184496334},
                      {0.975, 1000, 1.9623390808264074}, {0.9, 5, 1.4758840487820273}, {0.01, 7, -2.9979515668685286}};
  for (const auto& r : refs) {
    CAPTURE(r.dof);
    CAPTURE(r.p);
    CHECK(student_t_quantile(r.p, r.dof) == doctest::Approx(r.t).epsilon(1e-9));
    CHECK(student_t_cdf(student_t_quantile(r.p, r.dof), r.dof) == doctest::Approx(r.p).epsilon(1e-12));
  }
  CHECK(student_t_quantile(0.5, 3) == 0.0);
  CHECK_THROWS(student_t_quantile(1.0, 3));
  CHECK_THROWS(student_t_quantile(0.5, 0));
}

TEST_CASE("summary: mean, sample std and 95% half-width") {
  const Summary s = summarize({1, 2, 3, 4});
  CHECK(s.n == 4);
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.stddev == doctest::Approx(std::sqrt(5.0 / 3.0)));
  CHECK(s.ci95_half == doctest::Approx(3.182446305284263 * std::sqrt(5.0 / 3.0) / 2.0));

  const Summary one = summarize({0.7});
  CHECK(one.n == 1);
  CHECK(one.mean == doctest::Approx(0.7));
  CHECK(std::isnan(one.ci95_half));  // n = 1: no interval, never a zero-width one

  CHECK(std::isnan(summarize({}).mean));
  CHECK(std::isnan(summarize({1.0, NAN}).mean));  // a NaN seed is visible, not dropped
}

TEST_CASE("difference intervals: paired t over seeds, Welch t otherwise (values from scipy 1.10)") {
  // scipy.stats.ttest_rel([1, 2, 3.5], [0.5, 1.8, 2.9]).confidence_interval()
  const Difference p = paired_difference({1, 2, 3.5}, {0.5, 1.8, 2.9});
  CHECK(p.kind == Difference::Kind::Paired);
  CHECK(p.mean == doctest::Approx(0.43333333333333335));
  CHECK(p.ci95_half == doctest::Approx(0.517114501273674).epsilon(1e-10));
  CHECK(p.dof == 2);
  // Welch-Satterthwaite: dof 4.8557..., t(0.975, dof) * se (non-integer dof through the t CDF).
  const Difference w = welch_difference({1, 2, 3.5}, {0.5, 1.8, 2.9, 4.0});
  CHECK(w.kind == Difference::Kind::Welch);
  CHECK(w.mean == doctest::Approx(-0.1333333333333333));
  CHECK(w.dof == doctest::Approx(4.855719439312994).epsilon(1e-10));
  CHECK(w.ci95_half == doctest::Approx(2.7072395685579367).epsilon(1e-10));
  // Too few values: no interval, never a zero-width one.
  CHECK(welch_difference({1}, {1, 2}).kind == Difference::Kind::None);
  CHECK(std::isnan(welch_difference({1}, {1, 2}).ci95_half));
  CHECK(std::isnan(paired_difference({1}, {2}).ci95_half));
  // Constant on both sides: an exact difference.
  CHECK(welch_difference({1, 1}, {0.5, 0.5}).ci95_half == 0);
  CHECK(paired_difference({1, 2}, {0.5, 1.5}).ci95_half == 0);
}

TEST_CASE("runs of a preset sweep are grouped by the preset, not by every setting it sets") {
  using flowbp::analysis::ConfigValue;
  using flowbp::analysis::RunRecord;
  auto text = [](const std::string& s) {
    ConfigValue v;
    v.s = s;
    return v;
  };
  auto number = [](std::int64_t i) {
    ConfigValue v;
    v.kind = ConfigValue::Kind::Int;
    v.i = i;
    return v;
  };
  std::vector<RunRecord> runs(6);
  for (int r = 0; r < 6; ++r) {
    const bool authors = r < 4;
    runs[r].method = "flowbp-bridge";
    runs[r].config["method.name"] = text("flowbp-bridge");
    runs[r].config["method.preset"] = text(authors ? "authors-sd35" : "spec-v1");
    runs[r].config["method.preset_values"] = text(authors ? "K = 5, beta = 0.5" : "K = 8, beta = 0.3");
    runs[r].config["method.K"] = number(authors ? 5 : 8);
    runs[r].config["method.beta"] = text(authors ? "0.5" : "0.3");
    // Within the authors' preset a second knob varies on its own: it stays a grouping key.
    runs[r].config["method.late_bias_gamma"] = text(r < 2 ? "4.0" : r < 4 ? "2.0" : "4.0");
    runs[r].config["train.seed"] = number(r % 2);
  }
  std::vector<const RunRecord*> all;
  for (const auto& r : runs) all.push_back(&r);
  const auto groups = flowbp::analysis::group_runs(all, {}).groups;
  REQUIRE(groups.size() == 3);
  for (const auto& g : groups) {
    std::set<std::string> keys;
    for (const auto& [k, v] : g.setting) keys.insert(k);
    CHECK(keys == std::set<std::string>{"method.late_bias_gamma", "method.preset"});
    CHECK(g.runs.size() == 2);
  }
}
