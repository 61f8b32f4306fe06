#include "fixture.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include <sstream>
#include <stdexcept>

#ifndef FLOWBP_TEST_PLUGINS
#error "FLOWBP_TEST_PLUGINS must list the built plugin files"
#endif

namespace plugtest {

using namespace flowbp;

Registry& registry() {
  static Registry* loaded = [] {
    auto* r = new Registry;
    std::stringstream files(FLOWBP_TEST_PLUGINS);
    std::string file;
    while (std::getline(files, file, ':'))
      if (!file.empty()) r->load_file(file);
    return r;
  }();
  return *loaded;
}

const Method& method(const std::string& name) { return registry().get(name); }

std::vector<std::string> method_names() { return registry().names(); }

SettingValues settings(const std::string& name, const std::map<std::string, SettingValue>& given, int steps) {
  return resolve_method_params(method(name), given, steps);
}

Plan draw_plan(const std::string& name, const std::map<std::string, SettingValue>& given, const Schedule& schedule,
               std::uint64_t seed) {
  const SettingValues values = settings(name, given, schedule.steps());
  std::mt19937_64 rng(seed);
  PlanContext ctx{schedule, rng};
  return method(name).plan(values, ctx);
}

at::Tensor gaussian(std::vector<int64_t> shape, std::uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kDouble));
}

TinyModel::TinyModel(int dim, int hidden, std::uint64_t seed) {
  const double s1 = 1.0 / std::sqrt(static_cast<double>(dim + 1));
  const double s2 = 1.0 / std::sqrt(static_cast<double>(hidden));
  w1 = (gaussian({dim, hidden}, seed) * s1).requires_grad_();
  wt = (gaussian({hidden}, seed + 1) * s1).requires_grad_();
  b1 = (gaussian({hidden}, seed + 2) * 0.1).requires_grad_();
  w2 = (gaussian({hidden, dim}, seed + 3) * s2).requires_grad_();
  b2 = (gaussian({dim}, seed + 4) * 0.1).requires_grad_();
}

std::vector<at::Tensor> TinyModel::parameters() const { return {w1, wt, b1, w2, b2}; }

at::Tensor TinyModel::operator()(const at::Tensor& x, double t) const {
  at::Tensor h = at::tanh(at::matmul(x, w1) + wt * t + b1);
  return at::matmul(h, w2) + b2;
}

VelocityFn TinyModel::velocity() const {
  return [this](const at::Tensor& x, double t) { return (*this)(x, t); };
}

NoiseFn noise_source() {
  return [](int stream, const at::Tensor& like) {
    return gaussian(like.sizes().vec(), 1000 + static_cast<std::uint64_t>(stream));
  };
}

at::Tensor reward(const at::Tensor& x) {
  const int64_t dim = x.size(1);
  at::Tensor c = at::linspace(0.5, 1.5, dim, at::TensorOptions().dtype(at::kDouble));
  return (at::sin(x) * c + x * x * 0.05).sum(1);
}

at::Tensor loss_of(const Plan& plan, const SurrogateOutput& out, const std::vector<at::Tensor>& reward_inputs) {
  std::vector<at::Tensor> rewards;
  for (const auto& x : reward_inputs) rewards.push_back(reward(x));
  const at::Tensor weights = trajectory_weights(plan, out, reward_inputs.front().size(0));
  return hinge_loss(rewards, weights, /*tau=*/50.0, /*loss_scale=*/0.7, plan.hinge);
}

Rollout rollout_for(const TinyModel& model, const Rollout& rollout, const Plan& plan, Engine engine) {
  if (engine == Engine::Classic) return rollout;
  return cached_rollout(model.velocity(), rollout.x.back(), rollout.schedule, rollout_reuse(plan, rollout.schedule));
}

std::vector<at::Tensor> engine_gradient(const TinyModel& model, const Rollout& rollout, const Plan& plan,
                                        Engine engine) {
  const Rollout used = rollout_for(model, rollout, plan, engine);
  const SurrogateOutput out = build_surrogate(model.velocity(), used, plan, noise_source());
  const at::Tensor loss = loss_of(plan, out, out.reward_inputs);
  return torch::autograd::grad({loss}, model.parameters(), {}, /*retain_graph=*/false, /*create_graph=*/false,
                               /*allow_unused=*/true);
}

std::vector<std::pair<std::string, std::map<std::string, SettingValue>>> gradient_cases() {
  return {
      {"refl", {}},
      {"refl", {{"reward_input", std::string("endpoint_reconstruction")}}},
      {"draft-lv", {}},
      {"draft-lv", {{"M", std::int64_t{0}}}},
      {"draft-lv", {{"hinge_on", std::string("mean_reward")}}},
      {"drtune", {}},
      {"drtune", {{"reward_input", std::string("endpoint_reconstruction")}, {"K", std::int64_t{2}}}},
      {"drtune", {{"train_span", std::string("from_stop")}, {"tweedie_velocity", std::string("if_train_step")},
                  {"early_stop_ratio", 1.0}}},
      {"leapalign", {}},
      {"leapalign", {{"beta", 1.0}, {"leap_sampler", std::string("uniform_v1")}}},
      {"leapalign", {{"leap_sampler", std::string("dirichlet")}, {"s_max", std::int64_t{3}}}},
      {"flowbp-sparse", {{"K", std::int64_t{4}}}},
      {"flowbp-sparse", {{"K", std::int64_t{3}}, {"grad_rescale_strength", 0.5}, {"late_bias_gamma", 0.0}}},
      {"flowbp-sparse", {{"K", std::int64_t{3}}, {"grad_rescale_strength", 2.5}}},
      {"flowbp-bridge", {{"K", std::int64_t{5}}}},
      {"flowbp-bridge", {{"K", std::int64_t{4}}, {"beta", 0.8}, {"grad_rescale_scope", std::string("surrogate")}}},
      {"flowbp-bridge", {{"K", std::int64_t{5}}, {"grad_rescale_strength", 1.7}, {"tail_ratio", 0.7}}},
      {"flowbp-lagrange", {{"negative_weights", std::string("reduce")}}},
      {"flowbp-lagrange", {{"K", std::int64_t{6}}, {"support_selection", std::string("random")}, {"support_scale", 0.3},
                           {"grad_rescale_strength", 0.5}, {"grad_rescale_scope", std::string("surrogate")},
                           {"negative_weights", std::string("allow")}}},
      {"flowbp-lagrange", {{"support_selection", std::string("all")}, {"max_active_supports", std::int64_t{0}},
                           {"grad_rescale_strength", 1.5}, {"negative_weights", std::string("allow")}}},
      {"flowbp-lagrange", {{"weights", std::string("uniform")}, {"beta", 0.6}}},
      {"full-bp", {}},
      {"full-bp", {{"K", std::int64_t{4}}}},
  };
}

Vjp velocity_vjp(const TinyModel& model, const at::Tensor& x, double t, const at::Tensor& cotangent) {
  at::Tensor input = x.detach().clone().requires_grad_();
  at::Tensor v = model(input, t);
  std::vector<at::Tensor> wrt = model.parameters();
  wrt.push_back(input);
  auto g = torch::autograd::grad({v}, wrt, {cotangent}, false, false, /*allow_unused=*/true);
  Vjp out;
  for (std::size_t k = 0; k + 1 < g.size(); ++k)
    out.params.push_back(g[k].defined() ? g[k] : at::zeros_like(wrt[k]).detach());
  out.x = g.back();
  return out;
}

namespace {

// Forward values the reference needs: each program's start, each segment's start
// state, and the state just before every term.
struct Walk {
  at::Tensor start;
  std::vector<at::Tensor> segment_start;
  std::vector<std::vector<at::Tensor>> before_term;
  at::Tensor result;
};

at::Tensor input_value(const Term& term, const Rollout& rollout, const Walk& walk, std::size_t segment,
                       std::size_t k) {
  switch (term.input) {
    case VelocityInput::Cached: return rollout.x[term.index];
    case VelocityInput::Start: return walk.start;
    case VelocityInput::Bridge: return walk.segment_start[segment];
    case VelocityInput::Chain: return walk.before_term[segment][k];
  }
  throw std::logic_error("unknown input");
}

std::vector<Walk> walk_forward(const TinyModel& model, const Rollout& rollout, const Plan& plan) {
  at::NoGradGuard no_grad;
  std::vector<Walk> walks;
  const NoiseFn noise = noise_source();
  for (const auto& program : plan.programs) {
    Walk walk;
    if (program.start.kind == Start::Kind::Cached) {
      walk.start = rollout.x[program.start.index];
    } else {
      const double t = rollout.schedule.t[program.start.index];
      const at::Tensor& source = walks[program.start.source_program].result;
      walk.start = (1.0 - t) * source + t * noise(program.start.noise_stream, source);
    }
    at::Tensor state = walk.start;
    for (std::size_t g = 0; g < program.segments.size(); ++g) {
      const Segment& segment = program.segments[g];
      walk.segment_start.push_back(state);
      walk.before_term.emplace_back();
      for (std::size_t k = 0; k < segment.terms.size(); ++k) {
        const Term& term = segment.terms[k];
        walk.before_term[g].push_back(state);
        at::Tensor v = term.active ? model(input_value(term, rollout, walk, g, k), rollout.schedule.t[term.index])
                                   : rollout.v[term.index];
        state = state - term.weight * v;
      }
      if (segment.pin != Pin::None) state = rollout.x[segment.to];  // a pin's forward value is the cached state
    }
    walk.result = state;
    walks.push_back(walk);
  }
  return walks;
}

}  // namespace

std::vector<at::Tensor> reference_gradient(const TinyModel& model, const Rollout& rollout, const Plan& plan) {
  const std::vector<Walk> walks = walk_forward(model, rollout, plan);

  // ∂L/∂(each program's result): the loss on detached leaf copies. Trajectory weights
  // are constants of the loss, so the engine's residuals are borrowed for them.
  const SurrogateOutput out = build_surrogate(model.velocity(), rollout, plan, noise_source());
  std::vector<at::Tensor> leaves;
  for (const auto& w : walks) leaves.push_back(w.result.detach().clone().requires_grad_());
  const at::Tensor loss = loss_of(plan, out, leaves);
  const auto cotangents = torch::autograd::grad({loss}, leaves);

  std::vector<at::Tensor> grad;
  for (const auto& p : model.parameters()) grad.push_back(at::zeros_like(p).detach());
  for (std::size_t p = 0; p < plan.programs.size(); ++p) {
    const Program& program = plan.programs[p];
    at::Tensor c = cotangents[p];  // cotangent of the running state, walking backwards
    for (std::size_t g = program.segments.size(); g-- > 0;) {
      const Segment& segment = program.segments[g];
      // Every pin is the identity for gradients (∂x̃/∂x̂ = I), so c passes through it.
      at::Tensor to_segment_start = at::zeros_like(c);
      for (std::size_t k = segment.terms.size(); k-- > 0;) {
        const Term& term = segment.terms[k];
        if (!term.active) continue;  // a cached velocity carries no gradient
        // state_after = state_before − w·gs(v(input); κ): ∂/∂v = −w·κ.
        const at::Tensor u = c * (-term.weight * term.grad_scale);
        const Vjp vjp = velocity_vjp(model, input_value(term, rollout, walks[p], g, k),
                                     rollout.schedule.t[term.index], u);
        for (std::size_t q = 0; q < grad.size(); ++q) grad[q] += vjp.params[q];
        if (term.input == VelocityInput::Chain) c = c + vjp.x;
        if (term.input == VelocityInput::Bridge) to_segment_start += term.beta * vjp.x;
      }
      c = c + to_segment_start;
    }
    // Program starts are detached (cached states, or re-noised from sg(result)).
  }
  return grad;
}

double max_abs(const std::vector<at::Tensor>& a) {
  double m = 0;
  for (const auto& t : a) m = std::max(m, t.abs().max().item<double>());
  return m;
}

double relative_error(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) throw std::logic_error("gradient lists differ in length");
  double diff = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    at::Tensor ak = a[k].defined() ? a[k] : at::zeros_like(b[k]);
    diff = std::max(diff, (ak - b[k]).abs().max().item<double>());
  }
  const double scale = max_abs(b);
  return scale > 0 ? diff / scale : diff;
}

}  // namespace plugtest
