// Forward values and gradients of every method's surrogate, on a tiny float64 model:
// docs/METHODS.md §7 invariants 1 (reconstruction = rollout), 2 (connector = cached,
// residuals), 3 (LeapAlign closed form), 4 (Lagrange P=1 ≡ LeapAlign with per-leap ρ,
// Bridge β=0 with pooled ρ or g=0 ≡ Sparse), 9 (every method = independent per-step VJP
// reference; full-bp = finite differences); DRaFT-LV's two hinges.
#include <torch/csrc/autograd/autograd.h>

#include "fixture.h"
#include "flowbp/grad_ops.h"
#include "flowbp/plan.h"
#include "flowbp/plan_builders.h"
#include "flowbp/schedule.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;
using plugtest::draw_plan;

namespace {

constexpr int kDim = 3;
constexpr int kBatch = 4;
constexpr int kHidden = 16;

struct Setup {
  plugtest::TinyModel model;
  Rollout rollout;
  Setup(int steps, double shift = 1.0, std::uint64_t seed = 3)
      : model(kDim, kHidden, seed),
        rollout(cached_rollout(model.velocity(), plugtest::gaussian({kBatch, kDim}, seed + 100),
                               Schedule::make(steps, shift))) {}
};

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST_CASE("invariant 9: every method's autograd gradient equals the per-step VJP reference walk of its plan") {
  for (int steps : {8, 13}) {
    Setup setup(steps, steps == 13 ? 3.0 : 1.0);
    for (const auto& [name, given] : plugtest::gradient_cases()) {
      for (std::uint64_t seed = 0; seed < 3; ++seed) {
        CAPTURE(name);
        CAPTURE(steps);
        CAPTURE(seed);
        const Plan plan = draw_plan(name, given, setup.rollout.schedule, seed);
        const auto engine = plugtest::engine_gradient(setup.model, setup.rollout, plan);
        const auto reference = plugtest::reference_gradient(setup.model, setup.rollout, plan);
        CHECK(plugtest::max_abs(reference) > 1e-6);  // a gradient that could be wrong
        CHECK(plugtest::relative_error(engine, reference) < 1e-10);
      }
    }
  }
}

TEST_CASE("invariant 9: full backprop's gradient matches a central finite difference of the true rollout reward") {
  Setup setup(6);
  const Plan plan = draw_plan("full-bp", {}, setup.rollout.schedule, 0);
  const auto grad = plugtest::engine_gradient(setup.model, setup.rollout, plan);
  const at::Tensor noise = setup.rollout.x[6];

  // The true loss of a fresh no-grad rollout, as a function of the parameters.
  auto true_loss = [&]() {
    const Rollout r = cached_rollout(setup.model.velocity(), noise, setup.rollout.schedule);
    return plugtest::loss_of(plan, SurrogateOutput{}, {r.x[0]}).item<double>();
  };
  auto params = setup.model.parameters();
  std::vector<at::Tensor> direction;
  double directional = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    direction.push_back(plugtest::gaussian(params[k].sizes().vec(), 500 + k));
    directional += (grad[k] * direction.back()).sum().item<double>();
  }
  const double h = 1e-5;
  auto shift = [&](double by) {
    at::NoGradGuard no_grad;
    for (std::size_t k = 0; k < params.size(); ++k) params[k].add_(direction[k] * by);
  };
  shift(h);
  const double up = true_loss();
  shift(-2 * h);
  const double down = true_loss();
  shift(h);
  const double finite = (up - down) / (2 * h);
  CAPTURE(directional);
  CAPTURE(finite);
  CHECK(std::abs(directional) > 1e-3);
  CHECK(std::abs(finite - directional) <= 1e-7 * std::abs(directional));

  // Also per coordinate on a few entries of the first weight matrix.
  for (int e = 0; e < 4; ++e) {
    at::Tensor flat = params[0].view({-1});
    {
      at::NoGradGuard no_grad;
      flat[e].add_(h);
    }
    const double plus = true_loss();
    {
      at::NoGradGuard no_grad;
      flat[e].sub_(2 * h);
    }
    const double minus = true_loss();
    {
      at::NoGradGuard no_grad;
      flat[e].add_(h);
    }
    const double exact = grad[0].view({-1})[e].item<double>();
    CHECK(std::abs((plus - minus) / (2 * h) - exact) <= 1e-7 * std::max(1.0, std::abs(exact)));
  }
}

TEST_CASE("invariant 3: LeapAlign's gradient equals -t_s dv_s - (t_j-t_s) dv_j + beta t_s (t_j-t_s) J_s dv_j") {
  Setup setup(25);
  for (double beta : {0.3, 0.0, 1.0}) {
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      CAPTURE(beta);
      CAPTURE(seed);
      const Plan plan = draw_plan("leapalign", {{"beta", beta}}, setup.rollout.schedule, seed);
      const int j = plan.j, s = plan.s;
      const auto& t = setup.rollout.schedule.t;
      const auto& x = setup.rollout.x;
      const auto engine = plugtest::engine_gradient(setup.model, setup.rollout, plan);

      // g = ∂L/∂x̃_0 at the reward input (forward value x_0), with the engine's weights.
      const SurrogateOutput out = build_surrogate(setup.model.velocity(), setup.rollout, plan);
      at::Tensor leaf = x[0].detach().clone().requires_grad_();
      const at::Tensor g = torch::autograd::grad({plugtest::loss_of(plan, out, {leaf})}, {leaf})[0];

      const double gap = t[j] - t[s];
      const auto at_s = plugtest::velocity_vjp(setup.model, x[s], t[s], g);               // gᵀ∂v_s/∂θ, gᵀJ_s
      const auto at_j = plugtest::velocity_vjp(setup.model, x[j], t[j], g);               // gᵀ∂v_j/∂θ
      const auto nested = plugtest::velocity_vjp(setup.model, x[j], t[j], at_s.x);        // (J_sᵀg)ᵀ∂v_j/∂θ
      std::vector<at::Tensor> closed;
      for (std::size_t k = 0; k < at_s.params.size(); ++k)
        closed.push_back(-t[s] * at_s.params[k] - gap * at_j.params[k] + beta * t[s] * gap * nested.params[k]);
      CHECK(plugtest::relative_error(engine, closed) < 1e-10);
    }
  }
}

TEST_CASE("invariant 4: FlowBP-Lagrange with P = 1 is LeapAlign, gradient and plan") {
  for (int steps : {10, 25}) {
    Setup setup(steps);
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      CAPTURE(steps);
      CAPTURE(seed);
      const Plan leap = draw_plan("leapalign", {{"beta", 0.45}}, setup.rollout.schedule, seed);
      // The same leap sampler as LeapAlign's default, so both draw the same (j, s).
      const Plan lagrange = draw_plan("flowbp-lagrange",
                                      {{"P", std::int64_t{1}}, {"beta", 0.45}, {"leap_sampler", std::string("uniform")},
                                       {"s_max", std::int64_t{-1}}, {"grad_rescale_strength", 1.0}},
                                      setup.rollout.schedule, seed);
      CHECK(lagrange.j == leap.j);
      CHECK(lagrange.s == leap.s);
      CHECK(lagrange.active == leap.active);
      CHECK(lagrange.grad_rescale_factor == 1.0);  // per leap: one support, active
      CHECK(lagrange.grad_rescale_factor_post == 1.0);
      const auto a = plugtest::engine_gradient(setup.model, setup.rollout, leap);
      const auto b = plugtest::engine_gradient(setup.model, setup.rollout, lagrange);
      CHECK(plugtest::relative_error(b, a) < 1e-6);
      CHECK(plugtest::relative_error(b, a) < 1e-12);  // in fact identical up to round-off
    }
  }
}

TEST_CASE("invariant 4: FlowBP-Bridge with beta = 0 is FlowBP-Sparse on the same active set") {
  {
    Setup setup(20);
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      CAPTURE(seed);
      const Plan bridge = draw_plan("flowbp-bridge", {{"beta", 0.0}, {"K", std::int64_t{5}},
                                                      {"grad_rescale_scope", std::string("surrogate")}},
                                    setup.rollout.schedule, seed);
      // The Sparse plugin's plan, moved onto the bridge's active set.
      Plan sparse = draw_plan("flowbp-sparse", {{"K", std::int64_t{5}}}, setup.rollout.schedule, seed);
      Segment& replay = sparse.programs[0].segments[0];
      for (auto& term : replay.terms) {
        term.active = plan_builders::contains(bridge.active, term.index);
        term.grad_scale = 1.0;
      }
      const double rho = plan_builders::grad_rescale(1.0, plan_builders::abs_active_weight(replay), 1.0);
      plan_builders::scale_active(replay, rho);
      plan_builders::finish(sparse);
      REQUIRE(sparse.active == bridge.active);
      CHECK(rho == doctest::Approx(bridge.grad_rescale_factor).epsilon(1e-14));
      const auto a = plugtest::engine_gradient(setup.model, setup.rollout, sparse);
      const auto b = plugtest::engine_gradient(setup.model, setup.rollout, bridge);
      CHECK(plugtest::relative_error(b, a) < 1e-6);
      // … while β > 0 on the same indices does change it (the nested term is real).
      Plan coupled = bridge;
      plan_builders::term_at(coupled.programs[0].segments[1], coupled.s).beta = 0.7;
      CHECK(plugtest::relative_error(plugtest::engine_gradient(setup.model, setup.rollout, coupled), a) > 1e-6);

      // With per-segment factors (the default scope) β = 0 is Sparse only when g = 0 …
      const Plan unscaled = draw_plan("flowbp-bridge", {{"beta", 0.0}, {"K", std::int64_t{5}},
                                                        {"grad_rescale_strength", 0.0}},
                                      setup.rollout.schedule, seed);
      Plan sparse_unscaled = sparse;
      for (auto& term : sparse_unscaled.programs[0].segments[0].terms) term.grad_scale = 1.0;
      REQUIRE(sparse_unscaled.active == unscaled.active);
      CHECK(plugtest::relative_error(plugtest::engine_gradient(setup.model, setup.rollout, unscaled),
                                     plugtest::engine_gradient(setup.model, setup.rollout, sparse_unscaled)) < 1e-6);
      // … and differs from it by design otherwise (ρ_pre ≠ ρ_post).
      const Plan per_segment = draw_plan("flowbp-bridge", {{"beta", 0.0}, {"K", std::int64_t{5}}},
                                         setup.rollout.schedule, seed);
      REQUIRE(per_segment.active == bridge.active);
      if (std::abs(per_segment.grad_rescale_factor - per_segment.grad_rescale_factor_post) > 1e-3)
        CHECK(plugtest::relative_error(plugtest::engine_gradient(setup.model, setup.rollout, per_segment), a) > 1e-6);
    }
  }
}

TEST_CASE("draft-lv: one hinge per target (the authors') or the hinge of the mean reward (first edition)") {
  Setup setup(10);
  const Plan per_target = draw_plan("draft-lv", {}, setup.rollout.schedule, 0);
  const Plan of_mean = draw_plan("draft-lv", {{"hinge_on", std::string("mean_reward")}}, setup.rollout.schedule, 0);
  CHECK(per_target.hinge == Hinge::PerProgram);
  CHECK(of_mean.hinge == Hinge::OfMeanReward);
  const SurrogateOutput out = build_surrogate(setup.model.velocity(), setup.rollout, per_target, plugtest::noise_source());
  std::vector<at::Tensor> rewards;
  for (const auto& x : out.reward_inputs) rewards.push_back(plugtest::reward(x).detach());
  REQUIRE(rewards.size() == 3);
  const at::Tensor stacked = at::stack(rewards);  // [M + 1, B]
  // A threshold between the targets of the sample whose targets differ most, so that one
  // sample has targets on both sides of the hinge.
  const at::Tensor spread = std::get<0>(stacked.max(0)) - std::get<0>(stacked.min(0));
  const std::int64_t widest = spread.argmax().item<std::int64_t>();
  const at::Tensor column = stacked.select(1, widest);
  REQUIRE(spread[widest].item<double>() > 1e-3);
  const double tau = 0.5 * (column.max().item<double>() + column.min().item<double>());
  const at::Tensor none = at::Tensor();
  const double per = hinge_loss(rewards, none, tau, 0.7, Hinge::PerProgram).item<double>();
  const double mean = hinge_loss(rewards, none, tau, 0.7, Hinge::OfMeanReward).item<double>();
  CHECK(per == doctest::Approx(0.7 * at::relu(tau - stacked).mean().item<double>()).epsilon(1e-12));
  CHECK(mean == doctest::Approx(0.7 * at::relu(tau - stacked.mean(0)).mean().item<double>()).epsilon(1e-12));
  CHECK(per > mean);  // relu is convex: the mean of hinges is at least the hinge of the mean
  // With every target inside the hinge the two agree.
  CHECK(hinge_loss(rewards, none, 1e3, 1.0, Hinge::PerProgram).item<double>() ==
        doctest::Approx(hinge_loss(rewards, none, 1e3, 1.0, Hinge::OfMeanReward).item<double>()).epsilon(1e-12));
}

TEST_CASE("invariant 1: Euler reconstructions reproduce the cached rollout (x~_s, x~_0)") {
  Setup setup(16, 3.0);
  const auto& x = setup.rollout.x;
  const VelocityFn v = setup.model.velocity();
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    CAPTURE(seed);
    // Guarded endpoints: the replay before the pin equals x_0 (compose_err ≈ 0).
    for (const auto& [name, given] : std::vector<std::pair<std::string, std::map<std::string, SettingValue>>>{
             {"flowbp-sparse", {}},
             {"flowbp-bridge", {}},
             {"refl", {{"reward_input", std::string("endpoint_reconstruction")}}},
             {"drtune", {{"reward_input", std::string("endpoint_reconstruction")}}}}) {
      CAPTURE(name);
      const Plan plan = draw_plan(name, given, setup.rollout.schedule, seed);
      const SurrogateOutput out = build_surrogate(v, setup.rollout, plan);
      CHECK(out.compose_err >= 0);
      CHECK(out.compose_err < 1e-12);
      CHECK(max_diff(out.reward_inputs[0], x[0]) == 0);
      CHECK(out.reward_inputs[0].requires_grad());
    }
    // The bridge's split state x~_s, and DRTune's x~_m, before any pin.
    Plan bridge = draw_plan("flowbp-bridge", {}, setup.rollout.schedule, seed);
    bridge.programs[0].segments.resize(1);
    CHECK(max_diff(build_surrogate(v, setup.rollout, bridge).reward_inputs[0], x[bridge.s]) < 1e-12);
    Plan drtune = draw_plan("drtune", {}, setup.rollout.schedule, seed);
    const int m = drtune.programs[0].segments[0].to;
    drtune.programs[0].segments.resize(1);
    CHECK(max_diff(build_surrogate(v, setup.rollout, drtune).reward_inputs[0], x[m]) < 1e-12);
  }
  // Full backprop has no pin at all: its chained replay is the rollout itself.
  const Plan full = draw_plan("full-bp", {}, setup.rollout.schedule, 0);
  const SurrogateOutput out = build_surrogate(v, setup.rollout, full);
  CHECK(max_diff(out.reward_inputs[0], x[0]) < 1e-12);
  CHECK(out.compose_err == -1);
}

TEST_CASE("posterior-mean methods feed the reward x_k - t_k v(x_k), not the sample") {
  Setup setup(12);
  const auto& x = setup.rollout.x;
  const auto& t = setup.rollout.schedule.t;
  const Plan refl = draw_plan("refl", {}, setup.rollout.schedule, 2);
  const int k = refl.active[0];
  const SurrogateOutput out = build_surrogate(setup.model.velocity(), setup.rollout, refl);
  CHECK(max_diff(out.reward_inputs[0], x[k] - t[k] * setup.rollout.v[k]) < 1e-12);

  const Plan lv = draw_plan("draft-lv", {{"M", std::int64_t{2}}}, setup.rollout.schedule, 0);
  const SurrogateOutput lv_out = build_surrogate(setup.model.velocity(), setup.rollout, lv, plugtest::noise_source());
  REQUIRE(lv_out.reward_inputs.size() == 3);
  const at::Tensor first = x[1] - t[1] * setup.rollout.v[1];
  CHECK(max_diff(lv_out.reward_inputs[0], first) < 1e-12);
  for (int m = 1; m <= 2; ++m) {
    at::NoGradGuard no_grad;
    const at::Tensor renoised = (1 - t[1]) * first + t[1] * plugtest::noise_source()(m, first);
    CHECK(max_diff(lv_out.reward_inputs[m], renoised - t[1] * setup.model(renoised, t[1])) < 1e-12);
  }
}

TEST_CASE("invariant 2: connector outputs equal the cached states and both residuals are reported") {
  Setup setup(20);
  const auto& x = setup.rollout.x;
  const auto& t = setup.rollout.schedule.t;
  const auto& cached_v = setup.rollout.v;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    CAPTURE(seed);
    const Plan leap = draw_plan("leapalign", {}, setup.rollout.schedule, seed);
    const SurrogateOutput out = build_surrogate(setup.model.velocity(), setup.rollout, leap);
    CHECK(max_diff(out.reward_inputs[0], x[0]) == 0);
    REQUIRE(out.d_s.defined());
    REQUIRE(out.d_0.defined());
    CHECK(out.d_s.size(0) == kBatch);
    const int j = leap.j, s = leap.s;
    const at::Tensor xs_hat = x[j] - (t[j] - t[s]) * cached_v[j];
    const at::Tensor x0_hat = x[s] - t[s] * cached_v[s];
    CHECK(max_diff(out.d_s, (x[s] - xs_hat).abs().mean(1)) < 1e-12);
    CHECK(max_diff(out.d_0, (x[0] - x0_hat).abs().mean(1)) < 1e-12);
    CHECK(out.d_0.min().item<double>() > 0);  // a curved model leaves a real residual

    // Lagrange: the residual of its own quadrature over cached and re-forwarded velocities.
    const Plan lag = draw_plan("flowbp-lagrange", {}, setup.rollout.schedule, seed);
    const SurrogateOutput lo = build_surrogate(setup.model.velocity(), setup.rollout, lag);
    CHECK(max_diff(lo.reward_inputs[0], x[0]) == 0);
    for (const auto& segment : lag.programs[0].segments) {
      at::Tensor estimate = x[segment.from];
      for (const auto& term : segment.terms) estimate = estimate - term.weight * cached_v[term.index];
      const at::Tensor& reported = segment.to == 0 ? lo.d_0 : lo.d_s;
      CHECK(max_diff(reported, (x[segment.to] - estimate).abs().mean(1)) < 1e-12);
    }
    // Trajectory weights follow the residuals with the floor τ_r = 0.1.
    const at::Tensor w = trajectory_weights(lag, lo, kBatch);
    const at::Tensor expect = 1.0 / (lo.d_s.clamp_min(0.1) + lo.d_0.clamp_min(0.1));
    CHECK(max_diff(w, expect) < 1e-12);
  }
}
