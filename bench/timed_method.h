// A Method that forwards to another and keeps its last plan and how long planning
// took, so the trainer's own step function can be timed phase by phase without
// a copy of it.
#pragma once
#include "flowbp/method.h"

namespace flowbp::bench {

class TimedMethod final : public Method {
 public:
  explicit TimedMethod(const Method& inner) : inner_(inner) {}
  MethodInfo info() const override { return inner_.info(); }
  std::vector<SettingSpec> settings() const override { return inner_.settings(); }
  void validate(const SettingValues& params, const Schedule& schedule) const override {
    inner_.validate(params, schedule);
  }
  int max_active(const SettingValues& params, int steps) const override { return inner_.max_active(params, steps); }
  Plan plan(const SettingValues& params, const PlanContext& ctx) const override;

  const Plan& last_plan() const { return last_; }
  double last_plan_seconds() const { return seconds_; }

 private:
  const Method& inner_;
  mutable Plan last_;
  mutable double seconds_ = 0;
};

// Velocity re-forwards with gradient a plan asks for (DRaFT-LV's renoised
// programs re-forward the same index once each, so this is not |active_indices|).
int active_forward_count(const Plan& plan);

}  // namespace flowbp::bench
