// Full backprop reference (DRaFT-K; Clark et al., 2024): every one of the last K
// steps re-forwarded on the running state, so gradients pass K − 1 Jacobians.
// Not a method of the paper's tables: the baseline for memory and gradient growth.
#include <string>

#include "flowbp/plan_builders.h"
#include "flowbp/plugin_abi.h"

namespace {

using namespace flowbp;

int depth(const SettingValues& params, int steps) {
  const auto k = params.get_int("K");
  return k < 0 ? steps : static_cast<int>(k);
}

class FullBp final : public Method {
 public:
  MethodInfo info() const override {
    return {"full-bp", "Full backprop (DRaFT-K)",
            "backprop through the last K steps of the real rollout with nested Jacobians; K = N is full backprop",
            "Clark et al., 2024, Directly fine-tuning diffusion models on differentiable rewards (DRaFT-K)",
            {"rollout endpoint", "last K steps {1..K}", "Euler", "chained, K - 1 Jacobians"}};
  }

  std::vector<SettingSpec> settings() const override {
    return {SettingSpec::integer("K", -1, -1, std::nullopt, "steps backpropagated through; -1 means all N")};
  }

  // Not a method of the paper: the authors released no configuration for it, so it ships
  // only the first edition's values (unchanged in the second).
  std::vector<Preset> presets() const override {
    return {Preset{"spec-v1", "first edition, unchanged in the second (docs/METHODS.md §0): all N steps",
                   {{"K", std::int64_t{-1}}}, "docs/METHODS.md §0: the first edition's values"}};
  }

  void validate(const SettingValues& params, const Schedule& schedule) const override {
    const int steps = schedule.steps();
    const auto k = params.get_int("K");
    if (k == 0) throw SettingError("method.K", "method.K = 0 must be >= 1 (or -1 for all N steps)");
    common_params::require_at_most(params, "K", steps, "N");
  }

  int max_active(const SettingValues& params, int steps) const override { return depth(params, steps); }

  Plan plan(const SettingValues& params, const PlanContext& ctx) const override {
    const int k = depth(params, ctx.steps());
    std::vector<int> all;
    for (int i = k; i >= 1; --i) all.push_back(i);
    Segment chain = plan_builders::euler_segment(ctx.schedule, k, 0, all, Pin::None);
    for (auto& term : chain.terms) term.input = VelocityInput::Chain;
    Program program = plan_builders::cached_program(k);
    program.segments.push_back(chain);

    Plan plan;
    plan.programs.push_back(program);
    common_params::apply_weighting(params, plan);
    plan_builders::finish(plan);
    return plan;
  }
};

}  // namespace

FLOWBP_REGISTER_METHOD(FullBp, "full-bp", FLOWBP_IN_TREE_VERSION)
