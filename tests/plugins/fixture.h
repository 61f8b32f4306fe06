// Shared pieces of the plugin tests: the real built plugins, a tiny double
// precision velocity model, a smooth reward, and an independent reference
// gradient that walks a Plan backwards with one VJP per velocity evaluation.
#pragma once
#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "flowbp/method.h"
#include "flowbp/registry.h"
#include "flowbp/rollout.h"
#include "flowbp/surrogate.h"

namespace plugtest {

// Every method plugin this build produced, loaded once from its file.
flowbp::Registry& registry();
const flowbp::Method& method(const std::string& name);
std::vector<std::string> method_names();

// Resolves settings (defaults + given + shape checks) and draws a plan with a fixed seed.
flowbp::SettingValues settings(const std::string& name, const std::map<std::string, flowbp::SettingValue>& given,
                             int steps);
flowbp::Plan draw_plan(const std::string& name, const std::map<std::string, flowbp::SettingValue>& given,
                       const flowbp::Schedule& schedule, std::uint64_t seed);

// v(x, t) = tanh([x, t] W1 + b1) W2 + b2 in float64, parameters with gradient.
struct TinyModel {
  at::Tensor w1, wt, b1, w2, b2;
  TinyModel(int dim, int hidden, std::uint64_t seed);
  std::vector<at::Tensor> parameters() const;
  at::Tensor operator()(const at::Tensor& x, double t) const;
  flowbp::VelocityFn velocity() const;
};

// Deterministic re-noising ε for DRaFT-LV programs: one stream per id.
flowbp::NoiseFn noise_source();
at::Tensor gaussian(std::vector<int64_t> shape, std::uint64_t seed);

// Per-sample reward R_b(x) = Σ_d c_d sin(x_bd) + 0.05 x_bd² (smooth, nonlinear).
at::Tensor reward(const at::Tensor& x);

// The training loss on a surrogate's output: hinge (always active: τ large) with the
// engine's trajectory weights.
at::Tensor loss_of(const flowbp::Plan& plan, const flowbp::SurrogateOutput& out,
                   const std::vector<at::Tensor>& reward_inputs);

// The engine as the trainer runs it (the rollout runs the plan's reusable forwards
// with gradient, the surrogate reuses them) or the classic one (a no-gradient
// rollout, every active term re-forwarded).
enum class Engine { Reuse, Classic };

// The rollout the engine runs for a plan: `rollout` itself (Classic), or the same
// noise and schedule rolled out again with the plan's RolloutReuse.
flowbp::Rollout rollout_for(const TinyModel& model, const flowbp::Rollout& rollout, const flowbp::Plan& plan,
                            Engine engine);

// Autograd gradient of the loss through build_surrogate (the engine under test).
std::vector<at::Tensor> engine_gradient(const TinyModel& model, const flowbp::Rollout& rollout,
                                        const flowbp::Plan& plan, Engine engine = Engine::Reuse);

// The settings each method's gradient is checked under: defaults, plus variants that
// exercise every input kind, grad scale and pin the plugins can emit.
std::vector<std::pair<std::string, std::map<std::string, flowbp::SettingValue>>> gradient_cases();

// The same gradient assembled by hand: forward values by an independent walk of the
// plan, then cotangents propagated backwards term by term with single-velocity VJPs.
std::vector<at::Tensor> reference_gradient(const TinyModel& model, const flowbp::Rollout& rollout,
                                           const flowbp::Plan& plan);

// max_k |a_k − b_k| / max_k |b_k| over all parameter tensors.
double relative_error(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b);
double max_abs(const std::vector<at::Tensor>& a);

// VJPs of one velocity evaluation v(x, t) with cotangent u: (∂v/∂θ)ᵀu and (∂v/∂x)ᵀu.
struct Vjp {
  std::vector<at::Tensor> params;
  at::Tensor x;
};
Vjp velocity_vjp(const TinyModel& model, const at::Tensor& x, double t, const at::Tensor& cotangent);

}  // namespace plugtest
