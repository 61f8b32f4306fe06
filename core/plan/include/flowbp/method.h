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

// The leap sampler's defaults for one method (docs/METHODS.md §4).
struct LeapDefaults {
  std::string sampler = "uniform";
  double alpha[3] = {4.2, 4.2, 4.2};  // the authors' argparse default
  int s_max = -1;                     // −1: no cap
};
// Everything sample_leap() reads: leap_sampler (the authors' "dirichlet", "uniform",
// "midpoint", "midpoint_j"; the first edition's "dirichlet_v1", "uniform_v1",
// "midpoint_v1"), alpha1..3, the authors' window i_min, i_max (exclusive, −1 = N + 1),
// s_max and tail_ratio, and the first edition's r_min, r_max, l1_max (*_v1 only).
std::vector<SettingSpec> leap_sampling(const LeapDefaults& defaults);
// (j, s) from the method's leap settings.
LeapIndices sample_leap(const SettingValues& params, const PlanContext& ctx);
// Whether the leap sampler is one of the first edition's (*_v1).
bool first_edition_leap(const SettingValues& params);
// The authors' window for the leap settings (second-edition samplers only).
LeapWindow leap_window_of(const SettingValues& params, int steps);
// Every (j, s) the leap settings can draw at N = steps.
std::vector<LeapIndices> reachable_leaps(const SettingValues& params, int steps);
// Shape checks for the leap settings (the window spans ≥ 3 indices, or r_min < r_max ≤
// N − 1 for *_v1; settings of the other edition left at their defaults, which for s_max
// are the method's `defaults`).
void validate_leap(const SettingValues& params, int steps, const LeapDefaults& defaults);

// late_bias_gamma (γ), late_bias ("steps": weight (r + 1)^γ with r the offset in steps
// from the origin; "time": (1 − t_i + 1/N)^γ, the first edition) and late_bias_origin
// ("segment": the segment's first candidate on the noise side; "global": N).
std::vector<SettingSpec> late_bias(double gamma);
// K distinct indices from [lo, hi] (sorted descending) by the late-bias settings;
// `segment_origin` is the segment's first candidate on the noise side.
std::vector<int> sample_late(const SettingValues& params, const Schedule& schedule, int lo, int hi,
                             int segment_origin, int count, std::mt19937_64& rng);
// Refuses late_bias = "time" with late_bias_origin = "segment" (not defined).
void validate_late_bias(const SettingValues& params);

// rounding: "half_even" (Python's round, the authors') or "first_edition" (what the
// first edition did at that method's rounding sites; docs/methods/<m>.md says which).
SettingSpec rounding();
bool rounds_half_even(const SettingValues& params);

// Fills a plan's trajectory-weighting fields from the shared settings (when declared).
void apply_weighting(const SettingValues& params, Plan& plan);
// Throws "method.K = 30 must be <= N = 25" when the setting exceeds the limit.
void require_at_most(const SettingValues& params, const std::string& name, std::int64_t limit,
                     const std::string& limit_name);
}  // namespace common_params

}  // namespace flowbp
