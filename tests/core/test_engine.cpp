// The engine's building blocks on a tiny double-precision field: exactness of
// forward values and the gradient each stop-gradient identity promises.

#include <ATen/ATen.h>
#include <algorithm>
#include <torch/csrc/autograd/autograd.h>

#include "flowbp/grad_ops.h"
#include "flowbp/memory.h"
#include "flowbp/plan.h"
#include "flowbp/surrogate.h"
#include <doctest.h>

using namespace flowbp;

namespace {

struct TinyField {
  at::Tensor w = at::tensor({0.8, -0.3, 0.2, 0.5}, at::kDouble).reshape({2, 2}).set_requires_grad(true);
  at::Tensor b = at::tensor({0.1, -0.2}, at::kDouble).set_requires_grad(true);
  VelocityFn fn() {
    return [this](const at::Tensor& x, double t) { return at::tanh(at::matmul(x, w) * (1.0 + t) + b); };
  }
};

Plan euler_plan(int n, std::vector<int> active, Pin pin) {
  Plan plan;
  Program p;
  p.start.index = n;
  Segment seg{n, 0, {}, pin};
  for (int i = n; i >= 1; --i) {
    bool on = std::find(active.begin(), active.end(), i) != active.end();
    seg.terms.push_back({i, 1.0 / n, on});
  }
  p.segments.push_back(seg);
  plan.programs.push_back(p);
  return plan;
}

}  // namespace

TEST_CASE("gs keeps the forward value bit for bit and scales the gradient") {
  at::Tensor u = at::tensor({0.3, -1.7, 2.2}, at::kDouble).set_requires_grad(true);
  for (double kappa : {0.0, 0.3, 1.0, 2.5}) {
    at::Tensor y = grad_scale(u * 1.0, kappa);
    CHECK(at::equal(y.detach(), u.detach()));
    if (kappa == 0.0) {
      CHECK_FALSE(y.requires_grad());
      continue;
    }
    auto g = torch::autograd::grad({y.sum()}, {u})[0];
    CHECK(at::allclose(g, at::full_like(u, kappa)));
  }
}

TEST_CASE("the connector pins the forward value and passes the gradient through") {
  at::Tensor estimate = at::tensor({1.0, 2.0, 3.0, 4.0}, at::kDouble).reshape({2, 2}).set_requires_grad(true);
  at::Tensor cached = at::tensor({1.5, 2.0, 2.0, 4.0}, at::kDouble).reshape({2, 2});
  at::Tensor pinned = connector(cached, estimate * 2.0);
  CHECK(at::equal(pinned.detach(), cached));
  auto g = torch::autograd::grad({pinned.sum()}, {estimate})[0];
  CHECK(at::allclose(g, at::full_like(estimate, 2.0)));
  at::Tensor d = residual_per_sample(cached, estimate);
  CHECK(d[0].item<double>() == doctest::Approx(0.25));
  CHECK(d[1].item<double>() == doctest::Approx(0.5));
}

TEST_CASE("an Euler reconstruction reproduces the cached rollout exactly") {
  TinyField field;
  Schedule schedule = Schedule::make(8);
  at::Tensor noise = at::randn({4, 2}, at::kDouble);
  Rollout ro = cached_rollout(field.fn(), noise, schedule);
  CHECK_FALSE(ro.x[0].requires_grad());
  Plan plan = euler_plan(8, {7, 3, 1}, Pin::None);
  auto out = build_surrogate(field.fn(), ro, plan);
  CHECK(out.active_forwards == 3);
  CHECK(at::equal(out.reward_inputs[0].detach(), ro.x[0]));
  CHECK(out.reward_inputs[0].requires_grad());
  plan.programs[0].segments[0].pin = Pin::Guard;
  out = build_surrogate(field.fn(), ro, plan);
  CHECK(out.compose_err == doctest::Approx(0.0).epsilon(1e-15));
  CHECK_FALSE(out.d_0.defined());
}

TEST_CASE("an Euler reconstruction's gradient is the sum of its direct terms") {
  TinyField field;
  Schedule schedule = Schedule::make(6);
  Rollout ro = cached_rollout(field.fn(), at::randn({3, 2}, at::kDouble), schedule);
  auto out = build_surrogate(field.fn(), ro, euler_plan(6, {5, 2}, Pin::None));
  at::Tensor g0 = at::randn({3, 2}, at::kDouble);
  auto grads = torch::autograd::grad({(out.reward_inputs[0] * g0).sum()}, {field.w, field.b});
  // Closed form: −Δ Σ_{i∈A} (∂v/∂θ at sg(x_i))ᵀ g0.
  at::Tensor gw = at::zeros_like(field.w), gb = at::zeros_like(field.b);
  for (int i : {5, 2}) {
    at::Tensor v = field.fn()(ro.x[i], schedule.t[i]);
    auto d = torch::autograd::grad({(v * g0).sum()}, {field.w, field.b});
    gw -= d[0] / 6.0;
    gb -= d[1] / 6.0;
  }
  CHECK(at::allclose(grads[0], gw, 1e-12, 1e-14));
  CHECK(at::allclose(grads[1], gb, 1e-12, 1e-14));
}

TEST_CASE("guidance detaches the unconditional branch") {
  at::Tensor a = at::tensor({2.0}, at::kDouble).set_requires_grad(true);
  auto cond = [&](const at::Tensor& x, double) { return x * a; };
  auto uncond = [&](const at::Tensor& x, double) { return x * a * a; };
  VelocityFn v = guided_velocity(cond, uncond, 3.0);
  at::Tensor x = at::tensor({1.5}, at::kDouble);
  at::Tensor y = v(x, 0.5);
  // value: v_u + g (v_c − v_u) = 6 + 3 (3 − 6) = −3; gradient only through v_c: g·x = 4.5
  CHECK(y.item<double>() == doctest::Approx(-3.0));
  CHECK(torch::autograd::grad({y.sum()}, {a})[0].item<double>() == doctest::Approx(4.5));
}

TEST_CASE("guidance with the unconditional branch attached differentiates both branches") {
  at::Tensor a = at::tensor({2.0}, at::kDouble).set_requires_grad(true);
  auto cond = [&](const at::Tensor& x, double) { return x * a; };
  auto uncond = [&](const at::Tensor& x, double) { return x * a * a; };
  const at::Tensor x = at::tensor({1.5}, at::kDouble).set_requires_grad(true);
  // The same value either way: −3.
  const at::Tensor detached = guided_velocity(cond, uncond, 3.0, true)(x, 0.5);
  const at::Tensor attached = guided_velocity(cond, uncond, 3.0, false)(x, 0.5);
  CHECK(attached.item<double>() == detached.item<double>());
  // d/da = (1 − g)·2xa + g·x = −12 + 4.5, and through the input: (1 − g)·a² + g·a = −8 + 6.
  const auto ga = torch::autograd::grad({attached.sum()}, {a, x});
  CHECK(ga[0].item<double>() == doctest::Approx(-7.5));
  CHECK(ga[1].item<double>() == doctest::Approx(-2.0));
  // Detached: only v_c's gradients, g·x and g·a.
  const auto gd = torch::autograd::grad({detached.sum()}, {a, x});
  CHECK(gd[0].item<double>() == doctest::Approx(4.5));
  CHECK(gd[1].item<double>() == doctest::Approx(6.0));
  // g = 1 never calls the unconditional branch.
  CHECK(guided_velocity(cond, nullptr, 1.0, false)(x, 0.5).item<double>() == doctest::Approx(3.0));
}

TEST_CASE("hinge loss, trajectory weights and the rescale factor follow §2–3") {
  Plan plan;
  plan.trajectory_weighting = true;
  plan.residual_floor = 0.1;
  SurrogateOutput out;
  out.d_0 = at::tensor({0.05, 0.4}, at::kDouble);
  out.d_s = at::tensor({0.2, 0.0}, at::kDouble);
  at::Tensor w = trajectory_weights(plan, out, 2);
  CHECK(w[0].item<double>() == doctest::Approx(1.0 / (0.2 + 0.1)));
  CHECK(w[1].item<double>() == doctest::Approx(1.0 / (0.1 + 0.4)));
  plan.trajectory_weighting_normalize = true;
  CHECK(trajectory_weights(plan, out, 2).mean().item<double>() == doctest::Approx(1.0));
  plan.trajectory_weighting = false;
  CHECK(at::equal(trajectory_weights(plan, out, 2), at::ones({2}, at::kDouble)));

  at::Tensor r = at::tensor({0.2, 0.9}, at::kDouble);
  at::Tensor loss = hinge_loss({r}, at::tensor({2.0, 1.0}, at::kDouble), 0.55, 3.0);
  CHECK(loss.item<double>() == doctest::Approx(3.0 * (2.0 * 0.35 + 0.0) / 2));
  CHECK(rescale_factor(1.0, 0.25, 1.0) == doctest::Approx(4.0));
  CHECK(rescale_factor(1.0, 0.25, 0.5) == doctest::Approx(2.5));
  CHECK(rescale_factor(1.0, 0.25, 0.0) == 1.0);
}

TEST_CASE("Jacobian depth is read off the plan") {
  Plan sparse = euler_plan(10, {9, 4}, Pin::Guard);
  CHECK(jacobian_depth(sparse) == 0);
  Plan chain = euler_plan(10, {10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Pin::None);
  for (auto& t : chain.programs[0].segments[0].terms) t.input = VelocityInput::Chain;
  CHECK(jacobian_depth(chain) == 9);
  Plan leap;
  Program p;
  p.start.index = 8;
  p.segments.push_back({8, 3, {{8, 0.5, true}}, Pin::Connector});
  Term bridge{3, 0.3, true, VelocityInput::Bridge, 0.3};
  p.segments.push_back({3, 0, {bridge}, Pin::Connector});
  leap.programs.push_back(p);
  CHECK(jacobian_depth(leap) == 1);
  leap.programs[0].segments[1].terms[0].beta = 0.0;
  CHECK(jacobian_depth(leap) == 0);
  leap.programs[0].segments[1].terms[0].beta = 0.3;
  leap.programs[0].segments[0].terms[0].active = false;  // nothing before the bridge carries θ
  CHECK(jacobian_depth(leap) == 0);
}

TEST_CASE("check_plan refuses malformed plans") {
  Plan bad = euler_plan(5, {2}, Pin::None);
  bad.programs[0].segments[0].terms[0].index = 9;
  CHECK_THROWS_WITH(check_plan(bad, 5, "m", false), doctest::Contains("out of [1, N]"));
  Plan neg = euler_plan(5, {2}, Pin::None);
  neg.programs[0].segments[0].terms[1].weight = -0.1;
  CHECK_THROWS_WITH(check_plan(neg, 5, "m", false), doctest::Contains("negative weight"));
  CHECK_NOTHROW(check_plan(neg, 5, "m", true));
  Plan gap = euler_plan(5, {2}, Pin::None);
  gap.programs[0].segments[0].from = 4;
  CHECK_THROWS_WITH(check_plan(gap, 5, "m", false), doctest::Contains("do not chain"));
}

TEST_CASE("the counting allocator sees tensors come and go") {
  memory::install_counting_allocator();
  CHECK(memory::counting_installed());
  const auto before = memory::current_bytes();
  memory::reset_peak();
  {
    at::Tensor big = at::empty({1 << 20}, at::kDouble);  // 8 MiB
    CHECK(memory::current_bytes() - before >= (8 << 20));
  }
  CHECK(memory::current_bytes() - before < 4096);
  CHECK(memory::peak_bytes() - before >= (8 << 20));
  memory::reset_peak();
  CHECK(memory::peak_bytes() == memory::current_bytes());
}
