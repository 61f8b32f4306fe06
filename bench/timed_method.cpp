#include "timed_method.h"

#include <chrono>

namespace flowbp::bench {

Plan TimedMethod::plan(const ParamValues& params, const PlanContext& ctx) const {
  const auto start = std::chrono::steady_clock::now();
  last_ = inner_.plan(params, ctx);
  seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return last_;
}

int active_forward_count(const Plan& plan) {
  int count = 0;
  for (const auto& program : plan.programs)
    for (const auto& segment : program.segments)
      for (const auto& term : segment.terms) count += term.active ? 1 : 0;
  return count;
}

}  // namespace flowbp::bench
