// DRTune (Wu et al., 2024): K evenly spaced train steps above an early stop index m,
// all on detached inputs, and the reward on the Tweedie estimate at m.
#include <algorithm>
#include <cmath>
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

int stop_window(const SettingValues& params, int steps) {
  const int w = static_cast<int>(std::ceil(params.get_real("early_stop_ratio") * steps - 1e-9));
  return std::clamp(w, 1, steps - 1);
}

// K train steps evenly spaced over {m+1..N}: an integer stride and a random offset,
// counted from the noise end as in the FlowBP port.
std::vector<int> train_steps(int steps, int stop, int budget, std::mt19937_64& rng) {
  const int span = steps - stop;
  const int count = std::min(budget, span);
  const int stride = std::max(1, span / count);
  const int max_offset = std::max(0, span - 1 - (count - 1) * stride);
  const int offset = uniform_int(rng, 0, max_offset);
  std::vector<int> out;
  for (int k = 0; k < count; ++k) out.push_back(steps - (offset + k * stride));
  return out;
}

class DrTune final : public Method {
 public:
  MethodInfo info() const override {
    return {"drtune", "DRTune",
            "K spaced train steps on detached inputs above a stop index m, reward on the Tweedie estimate at m",
            "Wu et al., 2024, Deep reward supervisions for tuning text-to-image diffusion models (DRTune)",
            {"posterior mean at stop index m", "K train steps + m", "Euler on A, Tweedie t_m", "none"}};
  }

  std::vector<SettingSpec> settings() const override {
    return {SettingSpec::integer("K", 3, 1, std::nullopt, "number of train steps evenly spaced over {m+1..N}"),
            SettingSpec::real("early_stop_ratio", 0.4, 0.0, 1.0, "stop index m ~ U{1..ceil(ratio N)}"),
            SettingSpec::choice("reward_input", "posterior_mean", {"posterior_mean", "endpoint_reconstruction"},
                              "posterior_mean: x_m-tilde - t_m v(x_m); endpoint_reconstruction: Euler replay to "
                              "x_0 with actives A and m (Table 4 ablation)")};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    if (steps < 2) throw SettingError("sampling.steps", "sampling.steps = " + std::to_string(steps) + ": DRTune needs N >= 2");
    const auto k = params.get_int("K");
    if (k > steps - 1)
      throw SettingError("method.K", "method.K = " + std::to_string(k) + " must be <= N - 1 = " + std::to_string(steps - 1) +
                         " (train steps lie above the stop index m >= 1)");
    if (!(params.get_real("early_stop_ratio") > 0))
      throw SettingError("method.early_stop_ratio", "method.early_stop_ratio = 0 must be > 0 (the stop index is drawn from U{1..ceil(ratio N)})");
  }

  int max_active(const SettingValues& params, int steps) const override {
    return std::min(static_cast<int>(params.get_int("K")), steps - 1) + 1;
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int n = ctx.steps();
    const int m = uniform_int(ctx.rng, 1, stop_window(params, n));
    std::vector<int> active = train_steps(n, m, static_cast<int>(params.get_int("K")), ctx.rng);
    Program program = plan_builders::cached_program(n);
    if (params.get_choice("reward_input") == "posterior_mean") {
      program.segments.push_back(plan_builders::euler_segment(ctx.schedule, n, m, active, Pin::None));
      program.segments.push_back(
          plan_builders::single_term_segment(m, 0, m, ctx.schedule.t[m], VelocityInput::Cached, Pin::None));
    } else {
      active.push_back(m);
      program.segments.push_back(plan_builders::euler_segment(ctx.schedule, n, 0, active, Pin::Guard));
    }
    Plan plan;
    plan.programs.push_back(program);
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(DrTune, "drtune", FLOWBP_IN_TREE_VERSION)
