// The interface every method plugin implements. Torch-free: a method only
// decides a Plan; the engine builds the autograd graph from it.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "flowbp/settings.h"
#include "flowbp/plan.h"
#include "flowbp/samplers.h"
#include "flowbp/schedule.h"

namespace flowbp {

// The paper's four design axes (Table 1), as the method declares them.
struct DesignAxes {
  std::string reward_input;  // e.g. "posterior mean", "endpoint connector"
  std::string active_set;    // e.g. "{k}, k ~ U{1..W}"
  std::string weights;       // e.g. "Tweedie t_k", "Lagrange quadrature"
  std::string bridge;        // e.g. "none", "connector, beta"
};

struct MethodInfo {
  std::string name;         // registry key, e.g. "flowbp-lagrange"
  std::string display_name; // e.g. "FlowBP-Lagrange"
  std::string description;  // one line
  std::string citation;     // one line
  DesignAxes axes;
};

// A named set of setting values a method ships (e.g. the authors' released
// configuration for one backbone): plain data, chosen with method.preset or --preset;
// settings given explicitly override it.
struct Preset {
  std::string name;         // e.g. "authors-sd35"
  std::string description;  // one line: what it reproduces
  std::vector<std::pair<std::string, SettingValue>> values;  // setting name -> value
  std::string source;       // where the values come from (file:line, paper section)
};

struct PlanContext {
  const Schedule& schedule;
  std::mt19937_64& rng;  // the index-selection stream (separate from noise and data)
  int steps() const { return schedule.steps(); }
};

class Method {
 public:
  virtual ~Method();
  virtual MethodInfo info() const = 0;
  virtual std::vector<SettingSpec> settings() const = 0;
  // The presets this method ships; none by default.
  virtual std::vector<Preset> presets() const;
  // Checks that need the run's time grid (K ≤ N, quadrature weights, …); throws
  // SettingError naming the key. Runs before any training starts.
  virtual void validate(const SettingValues& params, const Schedule& schedule) const;
  // An upper bound on |A| for these settings: the width of the logged active-set column.
  virtual int max_active(const SettingValues& params, int steps) const = 0;
  virtual Plan plan(const SettingValues& params, const PlanContext& ctx) const = 0;
};

// Settings several methods share, declared once so names, defaults and ranges agree.
namespace common_params {
SettingSpec beta(double def);
SettingSpec grad_rescale_strength();
SettingSpec trajectory_weighting(bool def);
SettingSpec trajectory_weighting_normalize();
SettingSpec residual_floor();
// trajectory_weighting (on), trajectory_weighting_normalize and residual_floor: what a
// connector method declares for Eq. 33–34.
std::vector<SettingSpec> connector_weighting();
// Appends `more` to `specs` (to compose the groups above).
void append(std::vector<SettingSpec>& specs, const std::vector<SettingSpec>& more);
// Everything sample_leap() reads: leap_sampler ("dirichlet" | "uniform" | "midpoint"),
// alpha1..3, r_min, r_max (−1 = N−1), l1_max (−1 = none).
std::vector<SettingSpec> leap_sampling();
SettingSpec late_bias_gamma(double def);
// Fills a plan's trajectory-weighting fields from the shared settings (when declared).
void apply_weighting(const SettingValues& params, Plan& plan);
// (j, s) from the method's leap_sampler and Dirichlet settings.
LeapIndices sample_leap(const SettingValues& params, const PlanContext& ctx);
// Throws "method.K = 30 must be <= N = 25" when the setting exceeds the limit.
void require_at_most(const SettingValues& params, const std::string& name, std::int64_t limit,
                     const std::string& limit_name);
// Shape checks for the leap settings (r_min < r_max ≤ N − 1, N ≥ 2).
void validate_leap(const SettingValues& params, int steps);
}  // namespace common_params

}  // namespace flowbp
