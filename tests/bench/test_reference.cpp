// The PyTorch reference is the same algorithm as the C++ engine: for the same
// weights, noise, conditions and plan (drawn by the real plugin), reference.py's
// loss and gradients equal those of plan → cached_rollout (reusing the plan's
// forwards) + build_surrogate + reward + trajectory weights + hinge loss + backward —
// the trainer's path. (Rerun with a forced OpenBLAS kernel by check_blas_kernel.py.)
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <random>

#include "bench_run.h"
#include "flowbp/rollout.h"
#include "flowbp/surrogate.h"
#include "json_tensor.h"
#include "python_reference.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;
using namespace flowbp::bench;

namespace {

Json plan_json(const Plan& plan) {
  Json o = Json::object();
  o.set("j", plan.j);
  o.set("s", plan.s);
  o.set("active", Json::array_of(plan.active));
  return o;
}

Json method_json(const std::string& name, const SettingValues& values) {
  Json m = Json::object();
  m.set("name", name);
  for (const auto& [key, value] : values.all()) {
    if (const auto* b = std::get_if<bool>(&value)) m.set(key, *b);
    else if (const auto* i = std::get_if<std::int64_t>(&value)) m.set(key, static_cast<long long>(*i));
    else if (const auto* d = std::get_if<double>(&value)) m.set(key, *d);
    else m.set(key, std::get<std::string>(value));
  }
  return m;
}

struct EngineCase {
  Json spec;            // what reference.py gets
  double loss = 0;
  std::vector<std::pair<std::string, at::Tensor>> grads;  // named like the Python module's parameters
};

EngineCase engine_case(const Registry& registry, const std::string& method, std::uint64_t seed) {
  BenchSettings s;
  s.width = 24;
  s.depth = 2;
  s.batch = 8;
  s.steps = 12;
  s.seed = seed;
  BenchRun run(registry, s, method, s.steps);
  const Experiment& e = run.experiment();
  ToyVelocityNet& net = toy_net(*run.state().model);

  at::Generator gen = at::detail::createCPUGenerator(seed);
  const ToyConfig toy = ToyConfig::from(e.backbone.settings);
  const at::Tensor noise = at::randn({s.batch, toy.dim}, gen, at::kFloat);
  const at::Tensor cond = at::randint(toy.classes, {s.batch}, gen, at::kLong);
  const VelocityFn velocity = [&](const at::Tensor& x, double t) { return net->forward(x, t, cond); };
  std::mt19937_64 index_rng(seed);
  PlanContext ctx{run.schedule(), index_rng};
  const Plan plan = registry.get(method).plan(e.method_params, ctx);
  const Rollout rollout = cached_rollout(velocity, noise, run.schedule(), rollout_reuse(plan, run.schedule()));
  const SurrogateOutput out = build_surrogate(velocity, rollout, plan);
  const at::Tensor r = run.reward()(out.reward_inputs.at(0), cond);
  const at::Tensor loss = hinge_loss({r}, trajectory_weights(plan, out, s.batch), e.reward.tau, e.reward.loss_scale);
  for (auto& p : net->parameters()) p.mutable_grad() = at::Tensor();
  loss.backward();

  EngineCase c;
  c.loss = loss.item<double>();
  Json spec = model_spec(e, run.reward());
  spec.set("steps", s.steps);
  Json params = Json::object();
  for (const auto& item : net->named_parameters()) {
    Json p = Json::object();
    p.set("shape", shape_of(item.value()));
    p.set("data", flat_list(item.value()));
    params.set(item.key(), p);
    const at::Tensor g = item.value().grad();
    c.grads.emplace_back(item.key(), g.defined() ? g.clone() : at::zeros_like(item.value()));
  }
  spec.set("params", params);
  spec.set("noise", nested_list(noise));
  spec.set("cond", flat_list(cond));
  spec.set("method", method_json(method, e.method_params));
  spec.set("plan", plan_json(plan));
  c.spec = spec;
  return c;
}

}  // namespace

TEST_CASE("reference.py reproduces the C++ engine's loss and gradients for the same plan") {
  Registry registry;
  registry.load_directory(FLOWBP_TEST_PLUGIN_DIR);
  std::vector<EngineCase> cases;
  Json spec = Json::object();
  spec.set("mode", "check");
  Json list = Json::array();
  for (const std::string method : {"flowbp-sparse", "leapalign", "flowbp-lagrange"})
    for (std::uint64_t seed : {3u, 17u}) {
      cases.push_back(engine_case(registry, method, seed));
      list.push_back(cases.back().spec);
    }
  spec.set("cases", list);
  const Json out = run_reference(FLOWBP_TEST_PYTHON, FLOWBP_TEST_REFERENCE, spec);
  const auto& answers = out.at("cases").items();
  REQUIRE(answers.size() == cases.size());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const EngineCase& c = cases[k];
    const Json& py = answers[k];
    const std::string what = c.spec.at("method").at("name").as_string() + " plan " + c.spec.at("plan").dump(0);
    CAPTURE(what);
    CHECK(c.loss > 0);  // the hinge is active, so the gradients below are not trivially zero
    CHECK(py.at("loss").as_number() == doctest::Approx(c.loss).epsilon(1e-5));
    double norm = 0;
    for (const auto& [name, g] : c.grads) norm = std::max(norm, g.abs().max().item<double>());
    CHECK(norm > 0);
    for (const auto& [name, g] : c.grads) {
      CAPTURE(name);
      const auto& values = py.at("grads").at(name).items();
      REQUIRE(static_cast<std::int64_t>(values.size()) == g.numel());
      const at::Tensor flat = g.reshape({-1}).to(at::kDouble);
      double worst = 0;
      for (std::size_t i = 0; i < values.size(); ++i)
        worst = std::max(worst, std::abs(values[i].as_number() - flat[static_cast<std::int64_t>(i)].item<double>()));
      CHECK(worst <= 1e-4 * norm);
    }
  }
}
