// What each plugin decides, read off its Plans: structure per METHODS.md §5, plan
// validity over many seeds and lengths, and the Jacobian depth (§6 invariant 8).

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
      {"leapalign", {{"leap_sampler", std::string("uniform")}, {"r_min", std::int64_t{1}}}},
      {"leapalign", {{"alpha1", 5.0}, {"alpha2", 0.2}, {"l1_max", std::int64_t{1}}}},
      {"flowbp-sparse", {{"K", std::int64_t{5}}, {"late_bias_gamma", 0.0}}},
      {"flowbp-bridge", {{"K", std::int64_t{2}}}},
      {"flowbp-bridge", {{"K", std::int64_t{5}}, {"grad_rescale_scope", std::string("segment")}}},
      {"flowbp-lagrange", {{"P", std::int64_t{5}}, {"K", std::int64_t{7}}, {"negative_weights", std::string("reduce")}}},
      {"flowbp-lagrange", {{"P", std::int64_t{2}}, {"K", std::int64_t{2}}}},
      {"flowbp-lagrange", {{"P", std::int64_t{4}}, {"weights", std::string("uniform")}}},
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
    CHECK(m <= 10);  // ceil(0.4 · 25)
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
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    CAPTURE(seed);
    const Plan plan = draw_plan("flowbp-bridge", {}, schedule, seed);
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
    for (const auto& term : pre.terms) pre_active += term.active;
    for (const auto& term : post.terms) post_active += term.active;
    CHECK(pre_active >= 1);
    CHECK(post_active >= 1);
    CHECK(pre_active + post_active == 8);
    REQUIRE(post.terms.front().index == s);
    CHECK(post.terms.front().active);
    CHECK(post.terms.front().input == VelocityInput::Bridge);
    CHECK(post.terms.front().beta == 0.3);
    double active_weight = 0;
    for (const auto* term : active_terms(plan)) active_weight += term->weight;
    for (const auto* term : active_terms(plan)) CHECK(term->grad_scale == doctest::Approx(1.0 / active_weight));
    // The split follows segment lengths (pre has N − s indices, post s), at least one each side.
    int expected_pre = std::clamp(static_cast<int>(std::lround(8.0 * (n - s) / n)), 1, std::min(n - s, 7));
    if (8 - expected_pre > s) expected_pre = 8 - s;
    CHECK(pre_active == expected_pre);
  }

  const Plan per_segment = draw_plan("flowbp-bridge", {{"grad_rescale_scope", std::string("segment")}}, schedule, 5);
  const auto& segments = per_segment.programs[0].segments;
  for (const auto& segment : segments) {
    double full = 0, active = 0;
    for (const auto& term : segment.terms) {
      full += term.weight;
      if (term.active) active += term.weight;
    }
    for (const auto& term : segment.terms)
      if (term.active) CHECK(term.grad_scale == doctest::Approx(full / active));
  }
}

TEST_CASE("flowbp-lagrange: P spread supports per leap, anchors active, <= K actives, lambda on non-anchors") {
  const int n = 40;
  const Schedule schedule = Schedule::make(n);
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    CAPTURE(seed);
    const Plan plan = draw_plan("flowbp-lagrange", {{"K", std::int64_t{5}}}, schedule, seed);
    const Program& program = plan.programs[0];
    REQUIRE(program.segments.size() == 2);
    const Segment& pre = program.segments[0];
    const Segment& post = program.segments[1];
    CHECK(program.start.index == plan.j);
    CHECK(pre.pin == Pin::Connector);
    CHECK(post.pin == Pin::Connector);
    CHECK(pre.terms.front().index == plan.j);
    CHECK(post.terms.front().index == plan.s);
    CHECK(pre.terms.front().active);
    CHECK(post.terms.front().active);
    CHECK(post.terms.front().input == VelocityInput::Bridge);
    CHECK(pre.terms.size() <= 3);
    CHECK(post.terms.size() <= 3);
    for (const auto& term : pre.terms) {
      CHECK(term.index <= plan.j);
      CHECK(term.index > plan.s);
    }
    for (const auto& term : post.terms) CHECK(term.index <= plan.s);
    const auto actives = active_terms(plan);
    CHECK(actives.size() <= 5);
    CHECK(actives.size() == std::min<std::size_t>(5, pre.terms.size() + post.terms.size()));
    const double rho = plan.grad_rescale_factor;
    double all = 0, on = 0;
    for (const auto* segment : {&pre, &post})
      for (const auto& term : segment->terms) {
        all += std::abs(term.weight);
        if (term.active) on += std::abs(term.weight);
      }
    CHECK(rho == doctest::Approx(all / on));
    CHECK(pre.terms.front().grad_scale == doctest::Approx(rho));
    CHECK(post.terms.front().grad_scale == doctest::Approx(rho));
    for (const auto* segment : {&pre, &post})
      for (std::size_t p = 1; p < segment->terms.size(); ++p)
        if (segment->terms[p].active) CHECK(segment->terms[p].grad_scale == doctest::Approx(rho * 0.5));
  }
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
