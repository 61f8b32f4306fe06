#include "timed_method.h"

#include "flowbp/clock.h"

namespace flowbp::bench {

Plan TimedMethod::plan(const SettingValues& params, const PlanContext& ctx) const {
  const auto start = Clock::now();
  last_ = inner_.plan(params, ctx);
  seconds_ = since(start);
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
