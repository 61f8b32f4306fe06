// The gradient-fidelity diagnostic: on a tiny float64 model its exact gradient is the
// gradient of the true objective (finite differences) and full backprop's; full backprop
// against it has cosine 1; bias and spread are cosines, deterministic, and the draws do
// not move the caller's index stream. In a run, the diagnostic changes no training number.
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "flowbp/fidelity.h"
#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

// v(x, t) = tanh(x·W1 + t·b1 + c·e)·W2, float64, d = 2, h = 4; the condition shifts the
// hidden layer. R(x, c) = exp(−‖x − μ‖²) with μ = (1, −0.5): a reward the hinge at τ = 0.9
// keeps active.
struct TinyModel {
  at::Tensor w1, b1, e, w2;
  TinyModel() {
    at::Generator gen = at::detail::createCPUGenerator(7);
    w1 = at::randn({2, 4}, gen, at::kDouble).mul_(0.7).set_requires_grad(true);
    b1 = at::randn({4}, gen, at::kDouble).mul_(0.5).set_requires_grad(true);
    e = at::randn({4}, gen, at::kDouble).mul_(0.3).set_requires_grad(true);
    w2 = at::randn({4, 2}, gen, at::kDouble).mul_(0.7).set_requires_grad(true);
  }
  std::vector<at::Tensor> params() const { return {w1, b1, e, w2}; }
  VelocityFn velocity(const at::Tensor& cond) const {
    return [this, cond](const at::Tensor& x, double t) {
      const at::Tensor c = cond.to(at::kDouble).unsqueeze(1);
      return at::tanh(at::matmul(x, w1) + b1 * t + c * e).matmul(w2);
    };
  }
  static at::Tensor reward(const at::Tensor& x, const at::Tensor&) {
    const at::Tensor mu = at::tensor({1.0, -0.5}, at::kDouble);
    return at::exp(-(x - mu).pow(2).sum(1));
  }
};

constexpr double kTau = 0.9;
constexpr int kBatch = 5, kSteps = 6;

at::Tensor noise() {
  at::Generator gen = at::detail::createCPUGenerator(11);
  return at::randn({kBatch, 2}, gen, at::kDouble);
}

at::Tensor conditions() { return at::tensor({0, 1, 1, 0, 1}, at::kLong); }

// The true objective: the hinge on the true sample x_0 of the rollout, batch mean.
double objective(const TinyModel& m, const Schedule& schedule) {
  at::NoGradGuard no_grad;
  const at::Tensor x0 = cached_rollout(m.velocity(conditions()), noise(), schedule).x[0];
  return at::relu(kTau - TinyModel::reward(x0, conditions())).mean().item<double>();
}

FidelityInput input_for(const TinyModel& m, const Schedule& schedule, const Method& method,
                        const SettingValues& params, const Plan& plan, std::mt19937_64 index, std::int64_t draws) {
  FidelityInput in;
  in.method = &method;
  in.params = &params;
  in.schedule = &schedule;
  in.velocity = m.velocity(conditions());
  in.reward = TinyModel::reward;
  in.cond = conditions();
  in.noise = noise();
  in.renoise = [](int stream, const at::Tensor& like) {
    at::Generator gen = at::detail::createCPUGenerator(100 + stream);
    return at::randn(like.sizes(), gen, like.options());
  };
  in.tau = kTau;
  in.plan = &plan;
  in.index = index;
  in.plan_draws = draws;
  in.parameters = m.params();
  return in;
}

// A run that also writes its final weights as text to RUN_DIR.weights.txt.
TrainResult train_dumping(const Experiment& exp, const std::string& run_dir) {
  TrainOptions opt;
  opt.run_dir = run_dir;
  opt.run_name = "test";
  opt.quiet = true;
  opt.cache_dir = cache_dir();
  opt.dump_weights = run_dir + ".weights.txt";
  return train_run(exp, plugins().get(exp.method), opt);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

SettingValues method_params(const Method& method, int steps) {
  return resolve_method_params(method, std::map<std::string, SettingValue>{}, steps, 1.0);
}

}  // namespace

TEST_CASE("the exact gradient is the true objective's (finite differences) and full backprop's") {
  const TinyModel m;
  const Schedule schedule = Schedule::make(kSteps, 2.0);
  const Rollout rollout = cached_rollout(m.velocity(conditions()), noise(), schedule);
  const at::Tensor exact = plan_gradient(m.velocity(conditions()), rollout, exact_gradient_plan(schedule), nullptr,
                                         TinyModel::reward, conditions(), kTau, 1.0, m.params());
  REQUIRE(exact.numel() == 8 + 4 + 4 + 8);
  // Central differences of the true objective, parameter by parameter.
  std::vector<double> fd;
  const double h = 1e-6;
  for (const auto& p : m.params()) {
    at::Tensor flat = p.detach().view({-1});
    for (std::int64_t k = 0; k < flat.numel(); ++k) {
      const double keep = flat[k].item<double>();
      flat[k] = keep + h;
      const double up = objective(m, schedule);
      flat[k] = keep - h;
      const double down = objective(m, schedule);
      flat[k] = keep;
      fd.push_back((up - down) / (2 * h));
    }
  }
  const at::Tensor fd_t = at::tensor(fd, at::kDouble);
  CHECK(exact.norm().item<double>() > 1e-3);  // the hinge is active: a real gradient
  CHECK((exact - fd_t).abs().max().item<double>() < 1e-7 * std::max(1.0, fd_t.abs().max().item<double>()));

  // Full backprop's plan (K = -1 = N) is the reference: cosine 1, norm ratio 1.
  const Method& full = plugins().get("full-bp");
  const SettingValues params = method_params(full, kSteps);
  std::mt19937_64 index(5);
  PlanContext context{schedule, index};
  const Plan plan = full.plan(params, context);
  const at::Tensor g = plan_gradient(m.velocity(conditions()), rollout, plan, nullptr, TinyModel::reward,
                                     conditions(), kTau, 1.0, m.params());
  CHECK(cosine(g, exact) == doctest::Approx(1.0).epsilon(1e-12));
  CHECK((g - exact).abs().max().item<double>() < 1e-12);

  FidelityInput in = input_for(m, schedule, full, params, plan, index, 4);
  const FidelityResult f = gradient_fidelity(in);
  CHECK(f.cos == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(f.norm_ratio == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(f.bias_cos == doctest::Approx(1.0).epsilon(1e-12));    // every draw is the same exact plan
  CHECK(f.spread_cos == doctest::Approx(1.0).epsilon(1e-12));
  // The parameters' .grad are left alone.
  for (const auto& p : m.params()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("bias and spread are cosines, deterministic, and leave the caller's index stream") {
  const TinyModel m;
  const Schedule schedule = Schedule::make(kSteps);
  for (const std::string name : {"flowbp-sparse", "leapalign", "refl", "draft-lv"}) {
    CAPTURE(name);
    const Method& method = plugins().get(name);
    SettingValues params = method_params(method, kSteps);
    if (name == "flowbp-sparse") params = resolve_method_params(method, {{"K", std::int64_t{2}}}, kSteps, 1.0);
    std::mt19937_64 stream(3);
    PlanContext context{schedule, stream};
    const Plan plan = method.plan(params, context);
    const std::mt19937_64 after_plan = stream;
    FidelityInput a = input_for(m, schedule, method, params, plan, stream, 6);
    FidelityInput b = input_for(m, schedule, method, params, plan, stream, 6);
    const FidelityResult ra = gradient_fidelity(a), rb = gradient_fidelity(b);
    CHECK(stream == after_plan);  // the draws came from the copies
    CHECK(ra.cos == rb.cos);
    CHECK(ra.bias_cos == rb.bias_cos);
    CHECK(ra.spread_cos == rb.spread_cos);
    CHECK(ra.norm_ratio == rb.norm_ratio);
    for (double v : {ra.cos, ra.bias_cos, ra.spread_cos}) {
      CHECK(std::isfinite(v));
      CHECK(v >= -1 - 1e-12);
      CHECK(v <= 1 + 1e-12);
    }
    CHECK(ra.norm_ratio > 0);
    // The mean pairwise cosine of the draws, computed pair by pair.
    std::mt19937_64 copy = after_plan;
    std::vector<at::Tensor> units;
    const Rollout rollout = cached_rollout(m.velocity(conditions()), noise(), schedule);
    for (int k = 0; k < 6; ++k) {
      PlanContext c{schedule, copy};
      const at::Tensor g = plan_gradient(m.velocity(conditions()), rollout, method.plan(params, c), a.renoise,
                                         TinyModel::reward, conditions(), kTau, 1.0, m.params());
      units.push_back(g / g.norm());
    }
    double pairs = 0;
    int count = 0;
    for (int i = 0; i < 6; ++i)
      for (int j = i + 1; j < 6; ++j, ++count) pairs += (units[i] * units[j]).sum().item<double>();
    CHECK(ra.spread_cos == doctest::Approx(pairs / count).epsilon(1e-10));
  }
  // ReFL's plans differ from draw to draw on a tiny N: its spread is below 1.
  const Method& refl = plugins().get("refl");
  const SettingValues refl_params = resolve_method_params(refl, {{"W", std::int64_t{6}}}, kSteps, 1.0);
  std::mt19937_64 stream(9);
  PlanContext context{schedule, stream};
  const Plan plan = refl.plan(refl_params, context);
  FidelityInput in = input_for(m, schedule, refl, refl_params, plan, stream, 8);
  CHECK(gradient_fidelity(in).spread_cos < 1 - 1e-6);
}

TEST_CASE("the diagnostic changes no training number, and logs where it ran") {
  const std::string root = temp_dir("fidelity-run");
  struct Case {
    std::string method;
    std::vector<std::string> extra;
  };
  const std::vector<std::string> base = {"train.steps=6", "train.batch=8", "eval.samples_per_condition=8",
                                         "eval.steps=8", "train.eval_every=3", "train.checkpoint_every=0"};
  for (const Case& c : {Case{"flowbp-lagrange", {}}, Case{"draft-lv", {}}, Case{"full-bp", {}},
                        Case{"flowbp-bridge", {"sampling.guidance=3.0", "train.grad_accumulation=2"}}}) {
    CAPTURE(c.method);
    std::vector<std::string> off = base;
    off.insert(off.end(), c.extra.begin(), c.extra.end());
    std::vector<std::string> on = off;
    for (const char* s : {"diagnostics.exact_grad_every=2", "diagnostics.exact_grad_batch=4", "diagnostics.plan_draws=3"})
      on.push_back(s);
    const std::string a = root + "/" + c.method + "-off", b = root + "/" + c.method + "-on";
    REQUIRE(train_dumping(experiment(c.method, off), a).outcome == RunOutcome::Done);
    REQUIRE(train_dumping(experiment(c.method, on), b).outcome == RunOutcome::Done);
    CHECK(table_difference(a + "/log.h5", b + "/log.h5", "steps", /*ignore_fidelity=*/true) == "");
    CHECK(table_difference(a + "/log.h5", b + "/log.h5", "eval") == "");
    // The final weights, bit for bit (9 significant digits round-trip a float32).
    const std::string weights_off = slurp(a + ".weights.txt"), weights_on = slurp(b + ".weights.txt");
    CHECK_FALSE(weights_off.empty());
    CHECK(weights_off == weights_on);

    const auto cos = column(b + "/log.h5", "steps", "fidelity_cos");
    const auto bias = column(b + "/log.h5", "steps", "fidelity_bias_cos");
    const auto spread = column(b + "/log.h5", "steps", "fidelity_spread_cos");
    const auto ratio = column(b + "/log.h5", "steps", "fidelity_norm_ratio");
    const auto bytes = column(b + "/log.h5", "steps", "fidelity_peak_bytes");
    const auto seconds = column(b + "/log.h5", "steps", "time_fidelity");
    REQUIRE(cos.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) {
      CAPTURE(i);
      const bool diagnostic = i % 2 == 0;  // steps 1, 3, 5
      CHECK(std::isfinite(cos[i]) == diagnostic);
      CHECK(std::isfinite(seconds[i]) == diagnostic);
      CHECK((bytes[i] >= 0) == diagnostic);
      if (!diagnostic) continue;
      for (double v : {cos[i], bias[i], spread[i]}) {
        CHECK(v >= -1 - 1e-9);
        CHECK(v <= 1 + 1e-9);
      }
      CHECK(ratio[i] > 0);
      if (c.method == "full-bp") {
        CHECK(cos[i] == doctest::Approx(1.0).epsilon(1e-9));
        CHECK(ratio[i] == doctest::Approx(1.0).epsilon(1e-9));
        CHECK(spread[i] == doctest::Approx(1.0).epsilon(1e-9));
      }
    }
    // Off, every fidelity column says so.
    for (double v : column(a + "/log.h5", "steps", "fidelity_cos")) CHECK(std::isnan(v));
    for (double v : column(a + "/log.h5", "steps", "fidelity_peak_bytes")) CHECK(v == -1);
  }
}
