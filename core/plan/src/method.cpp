#include "flowbp/method.h"

#include <limits>

namespace flowbp {

Method::~Method() = default;

void Method::validate(const SettingValues& /*params*/, const Schedule& /*schedule*/) const {}

std::vector<Preset> Method::presets() const { return {}; }

namespace common_params {

SettingSpec beta(double def) {
  return SettingSpec::real("beta", def, 0.0, 1.0, "gradient scale of the bridge's nested path (Eq. 4, i = s)");
}
SettingSpec grad_rescale_strength() {
  return SettingSpec::real("grad_rescale_strength", 1.0, 0.0, 1.0,
                         "g in rho = 1 + g (rho_full - 1); 0 turns gradient rescaling off (Eq. 42-43)");
}
SettingSpec trajectory_weighting(bool def) {
  return SettingSpec::boolean("trajectory_weighting", def,
                            "weight each sample by 1/(max(d_s,tau_r)+max(d_0,tau_r)) (Eq. 33-34)");
}
SettingSpec trajectory_weighting_normalize() {
  return SettingSpec::boolean("trajectory_weighting_normalize", false,
                            "rescale trajectory weights to batch mean 1 (the authors' code does not)");
}
SettingSpec residual_floor() {
  return SettingSpec::real("residual_floor", 0.1, 1e-9, std::nullopt, "tau_r, the floor on connector residuals");
}
std::vector<SettingSpec> connector_weighting() {
  return {trajectory_weighting(true), trajectory_weighting_normalize(), residual_floor()};
}
void append(std::vector<SettingSpec>& specs, const std::vector<SettingSpec>& more) {
  specs.insert(specs.end(), more.begin(), more.end());
}
std::vector<SettingSpec> leap_sampling() {
  return {
      SettingSpec::choice("leap_sampler", "dirichlet", {"dirichlet", "uniform", "midpoint"},
                        "how (j, s) are drawn: Dirichlet partition (Eq. 35-39), LeapAlign's uniform pair, or fixed midpoint"),
      SettingSpec::real("alpha1", 1.0, 1e-3, 1e3, "Dirichlet concentration of l1 (places j) (reconstructed default)"),
      SettingSpec::real("alpha2", 1.0, 1e-3, 1e3, "Dirichlet concentration of l2 (the gap j - s)"),
      SettingSpec::real("alpha3", 1.0, 1e-3, 1e3, "Dirichlet concentration of l3 (places s)"),
      SettingSpec::integer("r_min", 0, 0, std::nullopt, "smallest reverse index r = N - i a leap may use"),
      SettingSpec::integer("r_max", -1, -1, std::nullopt, "largest reverse index; -1 means N - 1"),
      SettingSpec::integer("l1_max", -1, -1, std::nullopt, "cap on l1, overflow moves to l3; -1 means no cap"),
  };
}
SettingSpec late_bias_gamma(double def) {
  return SettingSpec::real("late_bias_gamma", def, 0.0, 50.0,
                         "gamma of the late-biased active-set sampler p(i) ~ (1 - t_i + 1/N)^gamma (reconstructed)");
}

void apply_weighting(const SettingValues& params, Plan& plan) {
  if (params.has("trajectory_weighting")) plan.trajectory_weighting = params.get_bool("trajectory_weighting");
  if (params.has("trajectory_weighting_normalize"))
    plan.trajectory_weighting_normalize = params.get_bool("trajectory_weighting_normalize");
  if (params.has("residual_floor")) plan.residual_floor = params.get_real("residual_floor");
}

LeapIndices sample_leap(const SettingValues& params, const PlanContext& ctx) {
  const int n = ctx.steps();
  const int r_min = static_cast<int>(params.get_int("r_min"));
  const int r_max = static_cast<int>(params.get_int("r_max"));
  const std::string& sampler = params.get_choice("leap_sampler");
  if (sampler == "uniform") return sample_uniform_leap(n, r_min, r_max, ctx.rng);
  if (sampler == "midpoint") return midpoint_leap(n, r_min, r_max);
  DirichletSettings d;
  d.alpha[0] = params.get_real("alpha1");
  d.alpha[1] = params.get_real("alpha2");
  d.alpha[2] = params.get_real("alpha3");
  d.r_min = r_min;
  d.r_max = r_max;
  d.l1_max = static_cast<int>(params.get_int("l1_max"));
  return sample_dirichlet_leap(n, d, ctx.rng);
}

void require_at_most(const SettingValues& params, const std::string& name, std::int64_t limit,
                     const std::string& limit_name) {
  const auto value = params.get_int(name);
  if (value > limit)
    throw SettingError("method." + name, "method." + name + " = " + std::to_string(value) + " must be <= " + limit_name + " = " +
                       std::to_string(limit));
}

void validate_leap(const SettingValues& params, int steps) {
  if (steps < 2) throw SettingError("sampling.steps", "sampling.steps = " + std::to_string(steps) + ": a leap method needs N >= 2");
  const auto r_min = params.get_int("r_min");
  auto r_max = params.get_int("r_max");
  if (r_max < 0) r_max = steps - 1;
  if (r_max > steps - 1) require_at_most(params, "r_max", steps - 1, "N - 1");
  if (r_min >= r_max)
    throw SettingError("method.r_min", "method.r_min = " + std::to_string(r_min) + " must be < r_max = " + std::to_string(r_max));
}

}  // namespace common_params
}  // namespace flowbp
