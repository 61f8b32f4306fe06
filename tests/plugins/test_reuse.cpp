// Reusing the rollout's forwards (RolloutReuse): the rollout runs the steps the plan
// re-forwards on sg(x_i) — and full backprop's chain — with gradient, the surrogate
// takes them instead of computing them again. Everything must be as before: the same
// rollout values bit for bit, the same forward values, and the same gradients as the
// classic engine to 1e-12 in float64, for every method and variant.
#include <torch/csrc/autograd/autograd.h>

#include "fixture.h"
#include "flowbp/schedule.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;
using plugtest::Engine;

namespace {

constexpr int kDim = 3;
constexpr int kBatch = 4;
constexpr int kHidden = 16;

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Active terms the rollout can serve: on the cached input, or replaying its own steps.
int reusable_terms(const Plan& plan, const Schedule& schedule) {
  const RolloutReuse reuse = rollout_reuse(plan, schedule);
  int n = 0;
  for (const auto& program : plan.programs)
    for (const auto& segment : program.segments)
      for (const auto& term : segment.terms)
        if (RolloutReuse::on_cached_input(term, program) && !(reuse.chained(term.index) && term.index != reuse.chain_from))
          ++n;
  return n + (reuse.chain_from >= 0 ? reuse.chain_from - reuse.chain_to : 0);
}

}  // namespace

TEST_CASE("reuse: every method's gradient equals the classic engine's to 1e-12 (float64), forward values too") {
  for (int steps : {8, 13}) {
    const plugtest::TinyModel model(kDim, kHidden, 3);
    const Rollout classic = cached_rollout(model.velocity(), plugtest::gaussian({kBatch, kDim}, 103),
                                           Schedule::make(steps, steps == 13 ? 3.0 : 1.0));
    for (const auto& [name, given] : plugtest::gradient_cases()) {
      for (std::uint64_t seed = 0; seed < 3; ++seed) {
        CAPTURE(name);
        CAPTURE(steps);
        CAPTURE(seed);
        const Plan plan = plugtest::draw_plan(name, given, classic.schedule, seed);
        const Rollout reused = plugtest::rollout_for(model, classic, plan, Engine::Reuse);
        // The rollout itself: the same states and velocities, bit for bit.
        for (int i = 0; i <= steps; ++i) CHECK(max_diff(reused.x[i], classic.x[i]) == 0.0);
        for (int i = 1; i <= steps; ++i) CHECK(max_diff(reused.v[i], classic.v[i]) == 0.0);

        const SurrogateOutput a = build_surrogate(model.velocity(), classic, plan, plugtest::noise_source());
        const SurrogateOutput b = build_surrogate(model.velocity(), reused, plan, plugtest::noise_source());
        REQUIRE(a.reward_inputs.size() == b.reward_inputs.size());
        for (std::size_t p = 0; p < a.reward_inputs.size(); ++p)
          CHECK(max_diff(a.reward_inputs[p], b.reward_inputs[p]) <= 1e-12);
        CHECK(a.d_s.defined() == b.d_s.defined());
        CHECK(a.d_0.defined() == b.d_0.defined());
        if (a.d_s.defined()) CHECK(max_diff(a.d_s, b.d_s) <= 1e-12);
        if (a.d_0.defined()) CHECK(max_diff(a.d_0, b.d_0) <= 1e-12);
        CHECK(a.compose_err == doctest::Approx(b.compose_err).epsilon(1e-12));
        CHECK(a.active_forwards == b.active_forwards);
        CHECK(a.reused_forwards == 0);
        CHECK(b.reused_forwards == reusable_terms(plan, classic.schedule));
        CHECK(b.reused_forwards >= 1);  // every method re-forwards something on a cached input

        const auto g_classic = plugtest::engine_gradient(model, classic, plan, Engine::Classic);
        const auto g_reuse = plugtest::engine_gradient(model, classic, plan, Engine::Reuse);
        CHECK(plugtest::max_abs(g_classic) > 1e-6);
        CHECK(plugtest::relative_error(g_reuse, g_classic) <= 1e-12);
      }
    }
  }
}

TEST_CASE("reuse: what the rollout runs with gradient, method by method") {
  const Schedule schedule = Schedule::make(20);
  const auto reused = [&](const std::string& name, const std::map<std::string, SettingValue>& given) {
    const Plan plan = plugtest::draw_plan(name, given, schedule, 1);
    return std::make_pair(rollout_reuse(plan, schedule), plan);
  };
  {  // full backprop: the whole rollout, chained; nothing kept on a detached input
    const auto [r, plan] = reused("full-bp", {});
    CHECK(r.chain_from == 20);
    CHECK(r.chain_to == 0);
    CHECK(r.forwards_with_grad() == 20);
  }
  {  // truncated: the last K steps only
    const auto [r, plan] = reused("full-bp", {{"K", std::int64_t{4}}});
    CHECK(r.chain_from == 4);
    CHECK(r.chain_to == 0);
    CHECK(r.forwards_with_grad() == 4);
  }
  {  // FlowBP-Sparse: every active index (all on sg(x_i))
    const auto [r, plan] = reused("flowbp-sparse", {{"K", std::int64_t{6}}});
    CHECK(r.chain_from == -1);
    CHECK(r.forwards_with_grad() == 6);
    for (int i : plan.active) CHECK(r.kept(i));
  }
  {  // LeapAlign: v_j on sg(x_j); v_s is on the bridge input, re-forwarded by the surrogate
    const auto [r, plan] = reused("leapalign", {});
    CHECK(r.forwards_with_grad() == 1);
    CHECK(r.kept(plan.j));
    CHECK_FALSE(r.kept(plan.s));
  }
  {  // FlowBP-Bridge: every active but the bridge anchor
    const auto [r, plan] = reused("flowbp-bridge", {{"K", std::int64_t{5}}});
    CHECK(r.forwards_with_grad() == 4);
    CHECK_FALSE(r.kept(plan.s));
  }
  {  // DRTune: all K
    const auto [r, plan] = reused("drtune", {});
    CHECK(r.forwards_with_grad() == static_cast<int>(plan.active.size()));
  }
  {  // DRaFT-LV: the first program's step 1; the renoised programs start elsewhere
    const auto [r, plan] = reused("draft-lv", {});
    CHECK(r.forwards_with_grad() == 1);
    CHECK(r.kept(1));
  }
  {  // nothing active on a cached input: the classic rollout
    Plan none;
    const RolloutReuse r = rollout_reuse(none, schedule);
    CHECK(r.forwards_with_grad() == 0);
  }
}

TEST_CASE("reuse: a kept forward keeps its graph even when the caller runs without gradient") {
  const plugtest::TinyModel model(kDim, kHidden, 4);
  const Schedule schedule = Schedule::make(6);
  const Plan plan = plugtest::draw_plan("flowbp-sparse", {{"K", std::int64_t{2}}}, schedule, 0);
  at::NoGradGuard no_grad;
  const Rollout r = cached_rollout(model.velocity(), plugtest::gaussian({kBatch, kDim}, 7), schedule,
                                   rollout_reuse(plan, schedule));
  for (int i : plan.active) {
    CAPTURE(i);
    CHECK(r.v_graph[static_cast<std::size_t>(i)].requires_grad());
    CHECK_FALSE(r.v[static_cast<std::size_t>(i)].requires_grad());
  }
}
