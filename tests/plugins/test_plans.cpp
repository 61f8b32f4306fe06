// What each plugin decides, read off its Plans: structure per docs/METHODS.md §5, plan
// validity over many seeds and lengths, and the Jacobian depth (§7 invariant 8).

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "fixture.h"
#include "flowbp/plan.h"
#include "flowbp/schedule.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;
using plugtest::draw_plan;

namespace {

const std::vector<std::string> kMethods = {"refl",          "draft-lv",      "drtune",          "leapalign",
                                           "flowbp-sparse", "flowbp-bridge", "flowbp-lagrange", "full-bp"};

std::vector<const Term*> active_terms(const Plan& plan) {
  std::vector<const Term*> out;
  for (const auto& program : plan.programs)
    for (const auto& segment : program.segments)
      for (const auto& term : segment.terms)
        if (term.active) out.push_back(&term);
  return out;
}

bool allows_negative(const std::string& name, const SettingValues& values) {
  return name == "flowbp-lagrange" && values.get_choice("negative_weights") == "allow";
}

}  // namespace

TEST_CASE("all eight methods load from their plugin files with the declared names and axes") {
  const auto names = plugtest::method_names();
  CHECK(names.size() == kMethods.size());
  for (const auto& name : kMethods) {
    CAPTURE(name);
    REQUIRE(plugtest::registry().has(name));
    const MethodInfo info = plugtest::method(name).info();
    CHECK(info.name == name);
    CHECK_FALSE(info.display_name.empty());
    CHECK_FALSE(info.description.empty());
    CHECK_FALSE(info.citation.empty());
    CHECK_FALSE(info.axes.reward_input.empty());
    CHECK_FALSE(info.axes.active_set.empty());
    CHECK_FALSE(info.axes.weights.empty());
    CHECK_FALSE(info.axes.bridge.empty());
    // Every declared default must resolve and pass the method's own checks.
    CHECK_NOTHROW(plugtest::settings(name, {}, 25));
  }
}

TEST_CASE("the default search path finds all eight plugins in the build tree (one folder per plugin)") {
  ::unsetenv("FLOWBP_PLUGIN_PATH");
  Registry found;
  found.load_search_path();
  for (const auto& name : kMethods) {
    CAPTURE(name);
    REQUIRE(found.has(name));
    CHECK(found.all().at(name).path == plugtest::registry().all().at(name).path);
  }
}

TEST_CASE("every method's default plans are valid over many seeds and rollout lengths") {
  for (const auto& name : kMethods) {
    for (int steps : {2, 3, 5, 8, 25, 50}) {
      const Schedule schedule = Schedule::make(steps);
      SettingValues values;
      try {
        values = plugtest::settings(name, {}, steps);
      } catch (const SettingError&) {
        continue;  // defaults that do not fit a very short rollout (e.g. K = 6 > N = 5) are refused up front
      }
      for (std::uint64_t seed = 0; seed < 40; ++seed) {
        CAPTURE(name);
        CAPTURE(steps);
        CAPTURE(seed);
        std::mt19937_64 rng(seed);
        const Plan plan = plugtest::method(name).plan(values, PlanContext{schedule, rng});
        CHECK_NOTHROW(check_plan(plan, steps, name, allows_negative(name, values)));
        CHECK(plan.active == active_indices(plan));
        CHECK(!plan.active.empty());
        CHECK(static_cast<int>(plan.active.size()) <= plugtest::method(name).max_active(values, steps));
        if (plan.j >= 0) {
          CHECK(plan.j <= steps);
          CHECK(plan.s >= 1);
          CHECK(plan.j > plan.s);
        }
      }
    }
  }
}

TEST_CASE("max_active bounds |A| and plans stay valid under non-default settings too") {
  const std::vector<std::pair<std::string, std::map<std::string, SettingValue>>> cases = {
      {"refl", {{"W", std::int64_t{5}}, {"reward_input", std::string("endpoint_reconstruction")}}},
      {"draft-lv", {{"M", std::int64_t{5}}}},
      {"drtune", {{"K", std::int64_t{4}}, {"early_stop_ratio", 1.0}}},
      {"drtune", {{"K", std::int64_t{4}}, {"reward_input", std::string("endpoint_reconstruction")}}},
      {"drtune", {{"K", std::int64_t{5}}, {"train_span", std::string("from_stop")},
                  {"tweedie_velocity", std::string("if_train_step")}, {"early_stop_ratio", 1.0}}},
      {"drtune", {{"train_span", std::string("from_stop")}, {"tweedie_velocity", std::string("if_train_step")},
                  {"reward_input", std::string("endpoint_reconstruction")}, {"rounding", std::string("first_edition")}}},
      {"leapalign", {{"leap_sampler", std::string("uniform_v1")}, {"r_min", std::int64_t{1}}}},
      {"leapalign", {{"leap_sampler", std::string("dirichlet_v1")}, {"alpha1", 5.0}, {"alpha2", 0.2}, {"l1_max", std::int64_t{1}}}},
      {"leapalign", {{"leap_sampler", std::string("dirichlet")}, {"alpha1", 5.0}, {"alpha2", 0.2}, {"s_max", std::int64_t{2}}}},
      {"leapalign", {{"leap_sampler", std::string("uniform")}, {"s_max", std::int64_t{2}}, {"i_max", std::int64_t{5}}}},
      {"leapalign", {{"leap_sampler", std::string("midpoint")}, {"tail_ratio", 0.5}}},
      {"leapalign", {{"leap_sampler", std::string("midpoint_j")}, {"i_min", std::int64_t{2}}}},
      {"flowbp-sparse", {{"K", std::int64_t{5}}, {"late_bias_gamma", 0.0}}},
      {"flowbp-sparse", {{"K", std::int64_t{5}}, {"late_bias", std::string("time")}, {"late_bias_origin", std::string("global")}}},
      {"flowbp-bridge", {{"K", std::int64_t{2}}}},
      {"flowbp-bridge", {{"K", std::int64_t{5}}, {"grad_rescale_scope", std::string("surrogate")}}},
      {"flowbp-bridge", {{"K", std::int64_t{5}}, {"tail_ratio", 0.6}, {"late_bias_origin", std::string("global")}}},
      {"flowbp-bridge", {{"K", std::int64_t{4}}, {"rounding", std::string("first_edition")}, {"leap_sampler", std::string("dirichlet")}}},
      {"flowbp-lagrange", {{"P", std::int64_t{5}}, {"K", std::int64_t{7}}, {"negative_weights", std::string("reduce")},
                           {"support_selection", std::string("random")}}},
      {"flowbp-lagrange", {{"P", std::int64_t{2}}, {"K", std::int64_t{2}}, {"support_selection", std::string("random")}}},
      {"flowbp-lagrange", {{"P", std::int64_t{4}}, {"weights", std::string("uniform")}}},
      {"flowbp-lagrange", {{"P", std::int64_t{4}}, {"support_selection", std::string("all")},
                           {"max_active_supports", std::int64_t{0}}, {"negative_weights", std::string("reduce")}}},
      {"flowbp-lagrange", {{"support_selection", std::string("start")}, {"tail_ratio", 0.7},
                           {"leap_sampler", std::string("midpoint_j")}}},
      {"full-bp", {{"K", std::int64_t{5}}}},
  };
  for (const auto& [name, given] : cases) {
    for (int steps : {5, 6, 25}) {
      const Schedule schedule = Schedule::make(steps);
      const SettingValues values = plugtest::settings(name, given, steps);
      const int bound = plugtest::method(name).max_active(values, steps);
      for (std::uint64_t seed = 0; seed < 30; ++seed) {
        CAPTURE(name);
        CAPTURE(steps);
        CAPTURE(seed);
        std::mt19937_64 rng(seed);
        const Plan plan = plugtest::method(name).plan(values, PlanContext{schedule, rng});
        CHECK_NOTHROW(check_plan(plan, steps, name, false));
        CHECK(static_cast<int>(plan.active.size()) <= bound);
      }
    }
  }
}

TEST_CASE("on a shifted schedule, Lagrange plans with negative_weights = reduce or allow stay valid") {
  for (int steps : {3, 5, 13, 25}) {
    const Schedule schedule = Schedule::make(steps, 3.0);
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
      CAPTURE(steps);
      CAPTURE(seed);
      const Plan reduced =
          draw_plan("flowbp-lagrange", {{"negative_weights", std::string("reduce")}}, schedule, seed);
      CHECK_NOTHROW(check_plan(reduced, steps, "flowbp-lagrange", false));
      const Plan allowed = draw_plan("flowbp-lagrange", {{"negative_weights", std::string("allow")}}, schedule, seed);
      CHECK_NOTHROW(check_plan(allowed, steps, "flowbp-lagrange", true));
      CHECK(allowed.j == reduced.j);
      CHECK(allowed.s == reduced.s);
    }
  }
}

TEST_CASE("refl: one active step k <= W at Tweedie weight t_k, or the same step inside a full Euler replay") {
  const Schedule schedule = Schedule::make(40);
  std::set<int> seen;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const Plan plan = draw_plan("refl", {}, schedule, seed);
    REQUIRE(plan.programs.size() == 1);
    REQUIRE(plan.active.size() == 1);
    const int k = plan.active[0];
    seen.insert(k);
    CHECK(k >= 1);
    CHECK(k <= 10);  // W = ceil(40/4)
    const Program& program = plan.programs[0];
    CHECK(program.start.index == k);
    REQUIRE(program.segments.size() == 1);
    CHECK(program.segments[0].pin == Pin::None);
    REQUIRE(program.segments[0].terms.size() == 1);
    CHECK(program.segments[0].terms[0].weight == schedule.t[k]);
    CHECK(program.segments[0].terms[0].input == VelocityInput::Cached);
  }
  CHECK(seen.size() == 10);  // the whole window is reachable

  const Plan replay = draw_plan("refl", {{"reward_input", std::string("endpoint_reconstruction")}, {"W", std::int64_t{3}}},
                                schedule, 7);
  REQUIRE(replay.programs[0].segments.size() == 1);
  const Segment& segment = replay.programs[0].segments[0];
  CHECK(replay.programs[0].start.index == 40);
  CHECK(segment.to == 0);
  CHECK(segment.pin == Pin::Guard);
  CHECK(segment.terms.size() == 40);
  REQUIRE(replay.active.size() == 1);
  CHECK(replay.active[0] <= 3);
}

TEST_CASE("draft-lv: M re-noised programs on the first posterior mean, each re-forwarding index 1") {
  const Schedule schedule = Schedule::make(25);
  const Plan plan = draw_plan("draft-lv", {{"M", std::int64_t{3}}}, schedule, 1);
  REQUIRE(plan.programs.size() == 4);
  CHECK(plan.programs[0].start.kind == Start::Kind::Cached);
  CHECK(plan.programs[0].start.index == 1);
  for (int m = 1; m <= 3; ++m) {
    const Program& p = plan.programs[m];
    CHECK(p.start.kind == Start::Kind::Renoise);
    CHECK(p.start.source_program == 0);
    CHECK(p.start.noise_stream == m);
    REQUIRE(p.segments.size() == 1);
    CHECK(p.segments[0].terms[0].input == VelocityInput::Start);
    CHECK(p.segments[0].terms[0].weight == schedule.t[1]);
  }
  CHECK(plan.active == std::vector<int>{1});
}

TEST_CASE("drtune: K evenly spaced train steps above the stop index m, Tweedie step at m") {
  const int n = 25;
  const Schedule schedule = Schedule::make(n);
  std::set<int> stops;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    const Plan plan = draw_plan("drtune", {}, schedule, seed);
    const Program& program = plan.programs[0];
    REQUIRE(program.segments.size() == 2);
    const int m = program.segments[0].to;
    stops.insert(m);
    CHECK(m >= 1);
    CHECK(m <= 10);  // round(0.4 · 25)
    std::vector<int> train;
    for (const auto& term : program.segments[0].terms)
      if (term.active) train.push_back(term.index);
    REQUIRE(train.size() == 3);
    CHECK(train[0] - train[1] == train[1] - train[2]);  // evenly spaced
    CHECK(train[2] > m);
    CHECK(program.segments[1].terms.size() == 1);
    CHECK(program.segments[1].terms[0].index == m);
    CHECK(program.segments[1].terms[0].weight == schedule.t[m]);
    CHECK(plan.active.size() == 4);
  }
  CHECK(stops.size() == 10);

  const Plan replay = draw_plan("drtune", {{"reward_input", std::string("endpoint_reconstruction")}}, schedule, 3);
  REQUIRE(replay.programs[0].segments.size() == 1);
  CHECK(replay.programs[0].segments[0].pin == Pin::Guard);
  CHECK(replay.active.size() == 4);  // A ∪ {m}

  // The authors' variants: train steps spaced over {m..N}; the Tweedie velocity at m has
  // gradient exactly when m is one of them.
  int m_trained = 0;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    CAPTURE(seed);
    const Plan plan = draw_plan("drtune", {{"train_span", std::string("from_stop")},
                                           {"tweedie_velocity", std::string("if_train_step")}}, schedule, seed);
    const Program& program = plan.programs[0];
    const Segment& tweedie = program.segments.back();
    const int m = tweedie.from;
    std::vector<int> train;
    if (program.segments.size() == 2)
      for (const auto& term : program.segments[0].terms)
        if (term.active) train.push_back(term.index);
    if (tweedie.terms[0].active) train.push_back(m);
    REQUIRE(train.size() == 3);  // K = 3 over N - m + 1 >= 16 indices
    CHECK(train[0] - train[1] == train[1] - train[2]);
    CHECK(train[2] >= m);
    CHECK(train[0] <= n);
    m_trained += tweedie.terms[0].active;
  }
  CHECK(m_trained > 0);
  CHECK(m_trained < 300);
}

TEST_CASE("drtune: the stop count is round(ratio N) with ties to even; the first edition's is ceil") {
  auto max_stop = [](const std::map<std::string, SettingValue>& given, int n) {
    const Schedule schedule = Schedule::make(n);
    int most = 0;
    for (std::uint64_t seed = 0; seed < 400; ++seed) {
      const Plan plan = draw_plan("drtune", given, schedule, seed);
      most = std::max(most, plan.programs[0].segments.back().from);
    }
    return most;
  };
  CHECK(max_stop({{"early_stop_ratio", 0.25}}, 10) == 2);  // round(2.5) = 2
  CHECK(max_stop({{"early_stop_ratio", 0.35}}, 10) == 4);  // round(3.5) = 4
  CHECK(max_stop({{"early_stop_ratio", 0.25}, {"rounding", std::string("first_edition")}}, 10) == 3);  // ceil(2.5)
  // M rounds to 0: m = 1 without a draw.
  CHECK(max_stop({{"early_stop_ratio", 0.04}}, 10) == 1);
}

TEST_CASE("leapalign: two single-velocity leaps, connectors on both, bridge with beta at s") {
  const Schedule schedule = Schedule::make(25);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const Plan plan = draw_plan("leapalign", {{"beta", 0.4}}, schedule, seed);
    const Program& program = plan.programs[0];
    REQUIRE(program.segments.size() == 2);
    const Segment& pre = program.segments[0];
    const Segment& post = program.segments[1];
    CHECK(program.start.index == plan.j);
    CHECK(pre.from == plan.j);
    CHECK(pre.to == plan.s);
    CHECK(pre.pin == Pin::Connector);
    CHECK(post.pin == Pin::Connector);
    REQUIRE(pre.terms.size() == 1);
    REQUIRE(post.terms.size() == 1);
    CHECK(pre.terms[0].index == plan.j);
    CHECK(pre.terms[0].weight == doctest::Approx(schedule.t[plan.j] - schedule.t[plan.s]));
    CHECK(pre.terms[0].input == VelocityInput::Cached);
    CHECK(post.terms[0].index == plan.s);
    CHECK(post.terms[0].weight == schedule.t[plan.s]);
    CHECK(post.terms[0].input == VelocityInput::Bridge);
    CHECK(post.terms[0].beta == 0.4);
    CHECK(plan.trajectory_weighting);
  }
}

TEST_CASE("flowbp-sparse: K late-biased actives in a full Euler replay, one rho on every active") {
  const int n = 50;
  const Schedule schedule = Schedule::make(n);
  double late = 0, early = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    const Plan plan = draw_plan("flowbp-sparse", {}, schedule, seed);
    REQUIRE(plan.active.size() == 6);
    const Segment& segment = plan.programs[0].segments[0];
    CHECK(segment.pin == Pin::Guard);
    CHECK(segment.terms.size() == static_cast<std::size_t>(n));
    double active_weight = 0;
    for (const auto* term : active_terms(plan)) active_weight += term->weight;
    const double rho = 1.0 / active_weight;  // Ω = all N steps, Σ_Ω Δ = 1, strength 1
    CHECK(plan.grad_rescale_factor == doctest::Approx(rho));
    CHECK(rescale_factor(1.0, active_weight, 1.0) == doctest::Approx(rho));
    for (const auto* term : active_terms(plan)) {
      CHECK(term->grad_scale == doctest::Approx(rho));
      CHECK(term->input == VelocityInput::Cached);
    }
    for (int i : plan.active) (i <= n / 2 ? late : early) += 1;
    CHECK_FALSE(plan.trajectory_weighting);
  }
  CHECK(late > 1.5 * early);  // γ = 1 favours late (small) indices

  const Plan off = draw_plan("flowbp-sparse", {{"grad_rescale_strength", 0.0}}, schedule, 1);
  CHECK(off.grad_rescale_factor == 1.0);
  for (const auto* term : active_terms(off)) CHECK(term->grad_scale == 1.0);
}

TEST_CASE("flowbp-bridge: budget split across s, s always active on the bridge input, rho per scope") {
  const int n = 25;
  const Schedule schedule = Schedule::make(n);
  for (const char* scope : {"surrogate", "segment"}) {
    for (std::uint64_t seed = 0; seed < 100; ++seed) {
      CAPTURE(scope);
      CAPTURE(seed);
      const Plan plan = draw_plan("flowbp-bridge", {{"grad_rescale_scope", std::string(scope)}}, schedule, seed);
      const Program& program = plan.programs[0];
      REQUIRE(program.segments.size() == 2);
      const Segment& pre = program.segments[0];
      const Segment& post = program.segments[1];
      const int s = plan.s;
      CHECK(plan.j == n);
      CHECK(pre.from == n);
      CHECK(pre.to == s);
      CHECK(pre.pin == Pin::None);
      CHECK(post.pin == Pin::Guard);
      int pre_active = 0, post_active = 0;
      double pre_weight = 0, post_weight = 0;
      for (const auto& term : pre.terms)
        if (term.active) ++pre_active, pre_weight += term.weight;
      for (const auto& term : post.terms)
        if (term.active) ++post_active, post_weight += term.weight;
      CHECK(pre_active >= 1);
      CHECK(post_active >= 1);
      CHECK(pre_active + post_active == 8);
      REQUIRE(post.terms.front().index == s);
      CHECK(post.terms.front().active);
      CHECK(post.terms.front().input == VelocityInput::Bridge);
      CHECK(post.terms.front().beta == 0.3);
      if (std::string(scope) == "surrogate") {  // one rho over all N steps (Σ Δ = 1)
        const double rho = 1.0 / (pre_weight + post_weight);
        for (const auto* term : active_terms(plan)) CHECK(term->grad_scale == doctest::Approx(rho));
        CHECK(plan.grad_rescale_factor == doctest::Approx(rho));
        CHECK(std::isnan(plan.grad_rescale_factor_post));
      } else {  // one per segment, over its own steps
        const double rho_pre = (schedule.t[n] - schedule.t[s]) / pre_weight;
        const double rho_post = schedule.t[s] / post_weight;
        for (const auto& term : pre.terms)
          if (term.active) CHECK(term.grad_scale == doctest::Approx(rho_pre));
        for (const auto& term : post.terms)
          if (term.active) CHECK(term.grad_scale == doctest::Approx(rho_post));
        CHECK(plan.grad_rescale_factor == doctest::Approx(rho_pre));
        CHECK(plan.grad_rescale_factor_post == doctest::Approx(rho_post));
      }
      // The authors' split: round(8 (N - s)/N) with ties to even, clamped to [1, N - s],
      // post the rest within [1, s].
      int expected_pre = static_cast<int>(std::nearbyint(8.0 * (n - s) / n));
      expected_pre = std::clamp(expected_pre, 1, n - s);
      if (8 - expected_pre < 1) expected_pre = 7;
      if (8 - expected_pre > s) expected_pre = 8 - s;
      CHECK(pre_active == expected_pre);
    }
  }
}

TEST_CASE("flowbp-bridge: the late bias counts from each segment's first candidate (post: s - 1)") {
  // K = 4 at s = 6 of N = 12: pre gets round(4·6/12) = 2, post the anchor and one more
  // from {1..5}, whose frequencies follow (s - i)^γ.
  const int n = 12;
  const Schedule schedule = Schedule::make(n);
  const std::map<std::string, SettingValue> given = {{"K", std::int64_t{4}}, {"late_bias_gamma", 2.0},
                                                     {"leap_sampler", std::string("midpoint_j")},
                                                     {"i_min", std::int64_t{6}}, {"i_max", std::int64_t{9}}};
  std::map<int, int> post_counts;
  const int draws = 6000;
  int s_seen = -1;
  for (std::uint64_t seed = 0; seed < draws; ++seed) {
    const Plan plan = draw_plan("flowbp-bridge", given, schedule, seed);
    if (plan.s != 6) continue;
    s_seen = plan.s;
    for (const auto& term : plan.programs[0].segments[1].terms)
      if (term.active && term.index != plan.s) ++post_counts[term.index];
  }
  REQUIRE(s_seen == 6);
  // Among {1..5} with weight (6 - i)^2: i = 5 gets 1, i = 1 gets 25.
  int total = 0;
  for (const auto& [i, c] : post_counts) total += c;
  REQUIRE(total > 1000);
  const double z = 1 + 4 + 9 + 16 + 25;
  for (int i = 1; i <= 5; ++i) {
    CAPTURE(i);
    const double expected = (6 - i) * (6 - i) / z;
    CHECK(post_counts[i] / static_cast<double>(total) == doctest::Approx(expected).epsilon(0.2));
  }
}

TEST_CASE("flowbp-lagrange: P spread supports per leap, anchors active, the authors' midpoint rule, rho per leap") {
  const int n = 40;
  const Schedule schedule = Schedule::make(n);
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    CAPTURE(seed);
    const Plan plan = draw_plan("flowbp-lagrange", {{"grad_rescale_strength", 1.0}}, schedule, seed);
    const Program& program = plan.programs[0];
    REQUIRE(program.segments.size() == 2);
    const Segment& pre = program.segments[0];
    const Segment& post = program.segments[1];
    CHECK(program.start.index == plan.j);
    CHECK(plan.s <= 10);  // s_max
    CHECK(pre.pin == Pin::Connector);
    CHECK(post.pin == Pin::Connector);
    CHECK(pre.terms.front().index == plan.j);
    CHECK(post.terms.front().index == plan.s);
    CHECK(post.terms.front().input == VelocityInput::Bridge);
    for (const auto* segment : {&pre, &post}) {
      CHECK(segment->terms.size() <= 3);
      // midpoint, at most 2 per leap: the anchor and the next support.
      for (std::size_t p = 0; p < segment->terms.size(); ++p) CHECK(segment->terms[p].active == (p < 2));
      double all = 0, on = 0;
      for (const auto& term : segment->terms) {
        all += std::abs(term.weight);
        if (term.active) on += std::abs(term.weight);
      }
      const double rho = on > 0 ? all / on : 1.0;
      CHECK(segment->terms.front().grad_scale == doctest::Approx(rho));
      if (segment->terms.size() > 1) CHECK(segment->terms[1].grad_scale == doctest::Approx(rho * 0.25));
      CHECK((segment == &pre ? plan.grad_rescale_factor : plan.grad_rescale_factor_post) == doctest::Approx(rho));
    }
    for (const auto& term : pre.terms) {
      CHECK(term.index <= plan.j);
      CHECK(term.index > plan.s);
    }
    for (const auto& term : post.terms) CHECK(term.index <= plan.s);
  }

  // start: anchors only; all with no cap: every support; a cap of 1 keeps the anchors.
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto count = [&](const std::map<std::string, SettingValue>& given) {
      const Plan plan = draw_plan("flowbp-lagrange", given, schedule, seed);
      std::size_t active = 0, supports = 0;
      for (const auto& segment : plan.programs[0].segments) {
        supports += segment.terms.size();
        for (const auto& term : segment.terms) active += term.active;
      }
      return std::make_pair(active, supports);
    };
    CHECK(count({{"support_selection", std::string("start")}}).first == 2);
    const auto all = count({{"support_selection", std::string("all")}, {"max_active_supports", std::int64_t{0}}});
    CHECK(all.first == all.second);
    CHECK(count({{"max_active_supports", std::int64_t{1}}}).first == 2);
  }
}

TEST_CASE("flowbp-lagrange, first edition: random non-anchor supports under the budget K, one pooled rho") {
  const int n = 40;
  const Schedule schedule = Schedule::make(n);
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    CAPTURE(seed);
    const Plan plan = draw_plan("flowbp-lagrange",
                                {{"K", std::int64_t{5}}, {"support_selection", std::string("random")},
                                 {"grad_rescale_scope", std::string("surrogate")}, {"support_scale", 0.5}},
                                schedule, seed);
    const Program& program = plan.programs[0];
    const Segment& pre = program.segments[0];
    const Segment& post = program.segments[1];
    CHECK(pre.terms.front().active);
    CHECK(post.terms.front().active);
    const auto actives = active_terms(plan);
    CHECK(actives.size() == std::min<std::size_t>(5, pre.terms.size() + post.terms.size()));
    const double rho = plan.grad_rescale_factor;
    double all = 0, on = 0;
    for (const auto* segment : {&pre, &post})
      for (const auto& term : segment->terms) {
        all += std::abs(term.weight);
        if (term.active) on += std::abs(term.weight);
      }
    CHECK(rho == doctest::Approx(all / on));
    CHECK(std::isnan(plan.grad_rescale_factor_post));
    CHECK(pre.terms.front().grad_scale == doctest::Approx(rho));
    CHECK(post.terms.front().grad_scale == doctest::Approx(rho));
    for (const auto* segment : {&pre, &post})
      for (std::size_t p = 1; p < segment->terms.size(); ++p)
        if (segment->terms[p].active) CHECK(segment->terms[p].grad_scale == doctest::Approx(rho * 0.5));
  }
}

TEST_CASE("flowbp-lagrange: supports rounded half to even as the authors', half away in the first edition") {
  // midpoint_v1 with r_max = 11 at N = 20 gives (j, s) = (20, 14): the pre leap's middle
  // support sits at offset 2.5 of 5, the post leap's at 6.5 of 13.
  const Schedule schedule = Schedule::make(20);
  auto supports = [&](const char* rounding) {
    const Plan plan = draw_plan("flowbp-lagrange",
                                {{"leap_sampler", std::string("midpoint_v1")}, {"r_max", std::int64_t{11}},
                                 {"rounding", std::string(rounding)}},
                                schedule, 0);
    REQUIRE(plan.j == 20);
    REQUIRE(plan.s == 14);
    std::vector<std::vector<int>> out;
    for (const auto& segment : plan.programs[0].segments) {
      out.emplace_back();
      for (const auto& term : segment.terms) out.back().push_back(term.index);
    }
    return out;
  };
  CHECK(supports("half_even") == std::vector<std::vector<int>>{{20, 18, 15}, {14, 8, 1}});
  CHECK(supports("first_edition") == std::vector<std::vector<int>>{{20, 17, 15}, {14, 7, 1}});
}

TEST_CASE("full-bp: the last K steps chained on the running state") {
  const Schedule schedule = Schedule::make(12);
  const Plan all = draw_plan("full-bp", {}, schedule, 0);
  CHECK(all.programs[0].start.index == 12);
  CHECK(all.active.size() == 12);
  for (const auto* term : active_terms(all)) CHECK(term->input == VelocityInput::Chain);
  const Plan last = draw_plan("full-bp", {{"K", std::int64_t{4}}}, schedule, 0);
  CHECK(last.programs[0].start.index == 4);
  CHECK(last.active == std::vector<int>({4, 3, 2, 1}));
}

TEST_CASE("invariant 8: Jacobian depth 0 for detached surrogates, 1 with a beta bridge, N-1 for full backprop") {
  for (int n : {6, 25}) {
    CAPTURE(n);
    const Schedule schedule = Schedule::make(n);
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      CHECK(jacobian_depth(draw_plan("refl", {}, schedule, seed)) == 0);
      CHECK(jacobian_depth(draw_plan("draft-lv", {}, schedule, seed)) == 0);
      CHECK(jacobian_depth(draw_plan("drtune", {}, schedule, seed)) == 0);
      CHECK(jacobian_depth(draw_plan("drtune", {{"reward_input", std::string("endpoint_reconstruction")}}, schedule,
                                     seed)) == 0);
      CHECK(jacobian_depth(draw_plan("flowbp-sparse", {{"K", std::int64_t{4}}}, schedule, seed)) == 0);
      CHECK(jacobian_depth(draw_plan("leapalign", {}, schedule, seed)) == 1);
      CHECK(jacobian_depth(draw_plan("flowbp-bridge", {{"K", std::int64_t{4}}}, schedule, seed)) == 1);
      CHECK(jacobian_depth(draw_plan("flowbp-lagrange", {}, schedule, seed)) == 1);
      CHECK(jacobian_depth(draw_plan("leapalign", {{"beta", 0.0}}, schedule, seed)) == 0);
      CHECK(jacobian_depth(draw_plan("flowbp-bridge", {{"K", std::int64_t{4}}, {"beta", 0.0}}, schedule, seed)) == 0);
      CHECK(jacobian_depth(draw_plan("flowbp-lagrange", {{"beta", 0.0}}, schedule, seed)) == 0);
    }
    CHECK(jacobian_depth(draw_plan("full-bp", {}, schedule, 0)) == n - 1);
    CHECK(jacobian_depth(draw_plan("full-bp", {{"K", std::int64_t{3}}}, schedule, 0)) == 2);
  }
}
