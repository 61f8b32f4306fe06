// DRTune (Wu et al., 2024): K evenly spaced train steps above an early stop index m,
// all on detached inputs, and the reward on the Tweedie estimate at m.
#include <algorithm>
#include <cmath>
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

// The first edition: m ~ U{1..⌈ratio·N⌉}, the window clamped to [1, N − 1].
int stop_window_v1(const SettingValues& params, int steps) {
  const int w = static_cast<int>(std::ceil(params.get_real("early_stop_ratio") * steps - 1e-9));
  return std::clamp(w, 1, steps - 1);
}

// The first edition's K train steps evenly spaced over {m+1..N}: an integer stride and a
// random offset (drawn even when the steps fill the span), counted from the noise end.
std::vector<int> train_steps_v1(int steps, int stop, int budget, std::mt19937_64& rng) {
  const int span = steps - stop;
  const int count = std::min(budget, span);
  const int stride = std::max(1, span / count);
  const int max_offset = std::max(0, span - 1 - (count - 1) * stride);
  const int offset = uniform_int(rng, 0, max_offset);
  std::vector<int> out;
  for (int k = 0; k < count; ++k) out.push_back(steps - (offset + k * stride));
  return out;
}

// The authors' _sample_equally_spaced_train_indices over `span` positions counted from
// the noise end (index N − position): all of them, without a draw, when K ≥ span; else
// stride ⌊span/K⌋ and a uniform start in [0, span − 1 − (K − 1)·stride].
std::vector<int> train_steps(int steps, int span, int budget, std::mt19937_64& rng) {
  const int count = std::min(budget, span);
  std::vector<int> out;
  if (count == span) {
    for (int p = 0; p < span; ++p) out.push_back(steps - p);
    return out;
  }
  int stride = std::max(1, span / count);
  int max_start = span - 1 - (count - 1) * stride;
  if (max_start < 0) {
    stride = std::max(1, (span - 1) / std::max(1, count - 1));
    max_start = span - 1 - (count - 1) * stride;
  }
  const int start = uniform_int(rng, 0, std::max(0, max_start));
  for (int k = 0; k < count; ++k) out.push_back(steps - (start + k * stride));
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
    return {SettingSpec::integer("K", 3, 1, std::nullopt, "number of train steps, evenly spaced over train_span"),
            SettingSpec::real("early_stop_ratio", 0.4, 0.0, 1.0, "stop index m ~ U{1..round(ratio N)}"),
            SettingSpec::choice("reward_input", "posterior_mean", {"posterior_mean", "endpoint_reconstruction"},
                              "posterior_mean: x_m-tilde - t_m v(x_m); endpoint_reconstruction: Euler replay to "
                              "x_0 with actives A and m (Table 4 ablation)"),
            SettingSpec::choice("train_span", "above_stop", {"above_stop", "from_stop"},
                              "where the train steps are spaced: above_stop {m+1..N} (the paper's text), from_stop "
                              "{m..N} (the authors' code)"),
            SettingSpec::choice("tweedie_velocity", "always_active", {"always_active", "if_train_step"},
                              "the velocity at m in the Tweedie step: always re-forwarded with gradient (the paper's "
                              "text), or only when m is itself a train step (the authors' code)"),
            common_params::rounding()};
  }

  // The authors' released DRTune configs (the same on every backbone); each value's file
  // and line: docs/methods/drtune.md.
  std::vector<Preset> presets() const override {
    auto authors = [](const std::string& name, const std::string& what, const std::string& file) {
      return Preset{name,
                    "the authors' released DRTune config for " + what,
                    {{"K", std::int64_t{3}},
                     {"early_stop_ratio", 0.4},
                     {"reward_input", std::string("posterior_mean")},
                     {"train_span", std::string("from_stop")},
                     {"tweedie_velocity", std::string("if_train_step")},
                     {"rounding", std::string("half_even")}},
                    std::string("RuoyuWang-2077/FlowBP@93b220ad:") + file};
    };
    return {authors("authors-sd35", "SD3.5-M", "configs/final/sd35/sd3_5_drtune.yaml"),
            authors("authors-flux1", "FLUX.1-dev", "configs/final/flux1/flux1_drtune.yaml"),
            authors("authors-flux2", "FLUX.2-klein-base-9B", "configs/final/flux2/flux2_klein_base_9b_drtune.yaml"),
            Preset{"spec-v1",
                   "first edition (docs/METHODS.md §0): m ~ U{1..ceil(ratio N)}, train steps above m, Tweedie "
                   "step at m active",
                   {{"K", std::int64_t{3}},
                    {"early_stop_ratio", 0.4},
                    {"reward_input", std::string("posterior_mean")},
                    {"train_span", std::string("above_stop")},
                    {"tweedie_velocity", std::string("always_active")},
                    {"rounding", std::string("first_edition")}},
                   "docs/METHODS.md §0: the first edition's values"}};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    if (steps < 2) throw SettingError("sampling.steps", "sampling.steps = " + std::to_string(steps) + ": DRTune needs N >= 2");
    const auto k = params.get_int("K");
    const bool from_stop = params.get_choice("train_span") == "from_stop";
    const int limit = from_stop ? steps : steps - 1;
    if (k > limit)
      throw SettingError("method.K", "method.K = " + std::to_string(k) + " must be <= " + (from_stop ? "N" : "N - 1") +
                                         " = " + std::to_string(limit) +
                                         (from_stop ? "" : " (train steps lie above the stop index m >= 1)"));
    if (!(params.get_real("early_stop_ratio") > 0))
      throw SettingError("method.early_stop_ratio", "method.early_stop_ratio = 0 must be > 0 (the stop index is drawn from U{1..round(ratio N)})");
  }

  int max_active(const SettingValues& params, int steps) const override {
    return std::min(static_cast<int>(params.get_int("K")) + 1, steps);
  }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int n = ctx.steps();
    const bool from_stop = params.get_choice("train_span") == "from_stop";
    const int budget = static_cast<int>(params.get_int("K"));
    int m = 1;
    std::vector<int> train;
    if (!common_params::rounds_half_even(params)) {
      m = uniform_int(ctx.rng, 1, stop_window_v1(params, n));
      train = from_stop ? train_steps(n, n - m + 1, budget, ctx.rng) : train_steps_v1(n, m, budget, ctx.rng);
    } else {
      // The authors' count: Python's round(N·ratio); none (M ≤ 0) means m = 1 without a draw.
      int window = static_cast<int>(round_half_even(static_cast<double>(n) * params.get_real("early_stop_ratio")));
      window = std::min(window, from_stop ? n : n - 1);
      if (window >= 1) m = uniform_int(ctx.rng, 1, window);
      train = train_steps(n, from_stop ? n - m + 1 : n - m, budget, ctx.rng);
    }
    const bool m_is_train = plan_builders::contains(train, m);
    const bool tweedie_active = params.get_choice("tweedie_velocity") == "always_active" || m_is_train;
    std::vector<int> above;  // train steps of the Euler replay N → m
    for (int i : train)
      if (i > m) above.push_back(i);

    Program program = plan_builders::cached_program(n);
    if (params.get_choice("reward_input") == "posterior_mean") {
      if (m < n)  // from_stop can stop at m = N: the Tweedie step alone
        program.segments.push_back(plan_builders::euler_segment(ctx.schedule, n, m, above, Pin::None));
      Segment tweedie =
          plan_builders::single_term_segment(m, 0, m, ctx.schedule.t[m], VelocityInput::Cached, Pin::None);
      tweedie.terms[0].active = tweedie_active;
      program.segments.push_back(tweedie);
    } else {
      if (tweedie_active) above.push_back(m);
      program.segments.push_back(plan_builders::euler_segment(ctx.schedule, n, 0, above, Pin::Guard));
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
