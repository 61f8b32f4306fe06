#include "flowbp/method.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "flowbp/text.h"

namespace flowbp {

Method::~Method() = default;

void Method::validate(const SettingValues& /*params*/, const Schedule& /*schedule*/) const {}

std::vector<Preset> Method::presets() const { return {}; }

namespace common_params {

SettingSpec beta(double def) {
  return SettingSpec::real("beta", def, 0.0, 1.0, "gradient scale of the bridge's nested path (Eq. 4, i = s)");
}
SettingSpec grad_rescale_strength() {
  return SettingSpec::real("grad_rescale_strength", 1.0, 0.0, std::nullopt,
                         "g in rho = 1 + g (rho_full - 1); 0 turns gradient rescaling off, above 1 is allowed as "
                         "the authors allow it (Eq. 42-43)");
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

namespace {

const std::vector<std::string> kLeapSamplers = {"dirichlet",    "uniform",    "midpoint",   "midpoint_j",
                                                "dirichlet_v1", "uniform_v1", "midpoint_v1"};
// Settings of one edition's samplers only; the other edition leaves them at these values.
std::vector<std::pair<std::string, SettingValue>> authors_only(const LeapDefaults& d) {
  return {{"i_min", std::int64_t{1}}, {"i_max", std::int64_t{-1}}, {"s_max", std::int64_t{d.s_max}}, {"tail_ratio", 1.0}};
}
const std::vector<std::pair<std::string, SettingValue>> kFirstEditionOnly = {
    {"r_min", std::int64_t{0}}, {"r_max", std::int64_t{-1}}, {"l1_max", std::int64_t{-1}}};

LeapSampler authors_sampler(const std::string& name) {
  if (name == "dirichlet") return LeapSampler::Dirichlet;
  if (name == "uniform") return LeapSampler::Uniform;
  if (name == "midpoint") return LeapSampler::Midpoint;
  if (name == "midpoint_j") return LeapSampler::MidpointJ;
  throw std::logic_error("not one of the authors' leap samplers: " + name);
}

std::string value_text(const SettingValue& v) { return format_value(v); }

}  // namespace

std::vector<SettingSpec> leap_sampling(const LeapDefaults& d) {
  return {
      SettingSpec::choice("leap_sampler", d.sampler, kLeapSamplers,
                        "how (j, s) are drawn: the authors' dirichlet (Eq. 35-39, laid out from the clean end), "
                        "uniform (LeapAlign's pair), midpoint (j uniform, s = ceil(j/2)), midpoint_j (s uniform, j "
                        "the midpoint of [s, N]); *_v1: the first edition's (from the noise end)"),
      SettingSpec::real("alpha1", d.alpha[0], 1e-3, 1e3,
                      "Dirichlet concentration of l1 (dirichlet: the distance of s from the clean end; *_v1: of j "
                      "from the noise end)"),
      SettingSpec::real("alpha2", d.alpha[1], 1e-3, 1e3, "Dirichlet concentration of l2 (the gap j - s)"),
      SettingSpec::real("alpha3", d.alpha[2], 1e-3, 1e3,
                      "Dirichlet concentration of l3 (dirichlet: the rest up to the noise end; *_v1: places s)"),
      SettingSpec::integer("i_min", 1, 1, std::nullopt, "lowest index a leap may use (the authors' min_idx)"),
      SettingSpec::integer("i_max", -1, -1, std::nullopt,
                         "exclusive upper bound on the leap indices (the authors' max_idx); -1 means N + 1, larger "
                         "values are clipped to the tail window"),
      SettingSpec::integer("s_max", d.s_max, -1, std::nullopt,
                         "cap on the clean-side index s (the authors' jk_dirichlet_max_j_rev; dirichlet: overflow "
                         "of l1 moves to l3; uniform: s ~ U{i_min..s_max}); -1 means no cap"),
      SettingSpec::real("tail_ratio", 1.0, 0.0, 1.0,
                      "fraction of the rollout, from the clean end, that leap indices may use (the authors' "
                      "train_step_tail_ratio): j <= max(3, ceil(ratio N))")
          .excluding_min(),
      SettingSpec::integer("r_min", 0, 0, std::nullopt,
                         "*_v1 samplers: smallest reverse index r = N - i a leap may use"),
      SettingSpec::integer("r_max", -1, -1, std::nullopt, "*_v1 samplers: largest reverse index; -1 means N - 1"),
      SettingSpec::integer("l1_max", -1, -1, std::nullopt,
                         "*_v1 samplers: cap on l1 (j's distance from the noise end), overflow moves to l3; -1 "
                         "means no cap"),
  };
}

bool first_edition_leap(const SettingValues& params) {
  const std::string& sampler = params.get_choice("leap_sampler");
  return sampler.size() > 3 && sampler.compare(sampler.size() - 3, 3, "_v1") == 0;
}

LeapWindow leap_window_of(const SettingValues& params, int steps) {
  return leap_window(steps, static_cast<int>(params.get_int("i_min")), static_cast<int>(params.get_int("i_max")),
                     params.get_real("tail_ratio"));
}

LeapIndices sample_leap(const SettingValues& params, const PlanContext& ctx) {
  const int n = ctx.steps();
  const std::string& sampler = params.get_choice("leap_sampler");
  if (first_edition_leap(params)) {
    const int r_min = static_cast<int>(params.get_int("r_min"));
    const int r_max = static_cast<int>(params.get_int("r_max"));
    if (sampler == "uniform_v1") return sample_uniform_leap(n, r_min, r_max, ctx.rng);
    if (sampler == "midpoint_v1") return midpoint_leap(n, r_min, r_max);
    DirichletSettings d;
    d.alpha[0] = params.get_real("alpha1");
    d.alpha[1] = params.get_real("alpha2");
    d.alpha[2] = params.get_real("alpha3");
    d.r_min = r_min;
    d.r_max = r_max;
    d.l1_max = static_cast<int>(params.get_int("l1_max"));
    return sample_dirichlet_leap(n, d, ctx.rng);
  }
  const double alpha[3] = {params.get_real("alpha1"), params.get_real("alpha2"), params.get_real("alpha3")};
  return sample_leap_pair(authors_sampler(sampler), n, leap_window_of(params, n), alpha,
                          static_cast<int>(params.get_int("s_max")), ctx.rng);
}

std::vector<LeapIndices> reachable_leaps(const SettingValues& params, int steps) {
  std::vector<LeapIndices> out;
  if (!first_edition_leap(params))
    return reachable_pairs(authors_sampler(params.get_choice("leap_sampler")), steps, leap_window_of(params, steps),
                           static_cast<int>(params.get_int("s_max")));
  const int r_min = static_cast<int>(params.get_int("r_min"));
  int r_max = static_cast<int>(params.get_int("r_max"));
  if (r_max < 0) r_max = steps - 1;
  const std::string& sampler = params.get_choice("leap_sampler");
  if (sampler == "midpoint_v1") return {midpoint_leap(steps, r_min, r_max)};
  int r_j_max = r_max - 1;
  const auto l1_max = params.get_int("l1_max");
  if (l1_max >= 0 && sampler == "dirichlet_v1") r_j_max = std::min<int>(r_j_max, r_min + static_cast<int>(l1_max));
  for (int r_j = r_min; r_j <= r_j_max; ++r_j)
    for (int r_s = r_j + 1; r_s <= r_max; ++r_s) out.push_back({steps - r_j, steps - r_s});
  return out;
}

void validate_leap(const SettingValues& params, int steps, const LeapDefaults& defaults) {
  const bool v1 = first_edition_leap(params);
  for (const auto& [name, def] : v1 ? authors_only(defaults) : kFirstEditionOnly) {
    const SettingValue& value = params.all().at(name);
    const bool same = std::holds_alternative<double>(def) ? params.get_real(name) == std::get<double>(def)
                                                          : params.get_int(name) == std::get<std::int64_t>(def);
    if (!same)
      throw SettingError("method." + name, "method." + name + " = " + value_text(value) + " applies to " +
                                               (v1 ? "the second edition's samplers" : "the *_v1 samplers") +
                                               ", not method.leap_sampler = \"" + params.get_choice("leap_sampler") +
                                               "\"" + (v1 ? " (use r_min, r_max, l1_max)" : " (use i_min, i_max, s_max)"));
  }
  if (v1) {
    if (steps < 2)
      throw SettingError("sampling.steps", "sampling.steps = " + std::to_string(steps) + ": a leap method needs N >= 2");
    const auto r_min = params.get_int("r_min");
    auto r_max = params.get_int("r_max");
    if (r_max < 0) r_max = steps - 1;
    if (r_max > steps - 1) require_at_most(params, "r_max", steps - 1, "N - 1");
    if (r_min >= r_max)
      throw SettingError("method.r_min",
                         "method.r_min = " + std::to_string(r_min) + " must be < r_max = " + std::to_string(r_max));
    return;
  }
  if (steps < 3)
    throw SettingError("sampling.steps", "sampling.steps = " + std::to_string(steps) +
                                             ": a leap method needs N >= 3 (the authors' leap window spans >= 3 "
                                             "indices); the *_v1 samplers take N = 2");
  LeapWindow window;
  try {
    window = leap_window_of(params, steps);
  } catch (const std::invalid_argument&) {
    const auto i_min = params.get_int("i_min");
    const int top = tail_top(steps, params.get_real("tail_ratio"), 3);
    const auto i_max = params.get_int("i_max");
    const std::string hi = i_max < 0 ? std::to_string(top + 1) : std::to_string(std::min<std::int64_t>(i_max, top + 1));
    throw SettingError(i_max >= 0 && i_max < top + 1 ? "method.i_max" : "method.i_min",
                       "the leap window [i_min, i_max) = [" + std::to_string(i_min) + ", " + hi +
                           ") must span at least 3 indices (N = " + std::to_string(steps) +
                           ", tail_ratio = " + toml_real(params.get_real("tail_ratio")) + ")");
  }
  const auto s_max = params.get_int("s_max");
  if (s_max >= 0 && params.get_choice("leap_sampler") == "uniform" && std::min<std::int64_t>(s_max, window.hi - 2) < window.lo)
    throw SettingError("method.s_max", "method.s_max = " + std::to_string(s_max) +
                                           " lies below the leap window's lowest index i_min = " +
                                           std::to_string(window.lo) + " (the uniform sampler draws s from [i_min, s_max])");
}

std::vector<SettingSpec> late_bias(double gamma) {
  return {
      SettingSpec::real("late_bias_gamma", gamma, 0.0, 50.0,
                      "gamma of the late-biased active-set sampler (0 is uniform; larger favours late steps)"),
      SettingSpec::choice("late_bias", "steps", {"steps", "time"},
                        "steps: weight (r + 1)^gamma with r the offset in steps from late_bias_origin (the authors'); "
                        "time: (1 - t_i + 1/N)^gamma (the first edition)"),
      SettingSpec::choice("late_bias_origin", "segment", {"segment", "global"},
                        "where r = 0 lies: each segment's first candidate on the noise side (the authors'), or N "
                        "(global; the only origin of late_bias = time)"),
  };
}

void validate_late_bias(const SettingValues& params) {
  if (params.get_choice("late_bias") == "time" && params.get_choice("late_bias_origin") == "segment")
    throw SettingError("method.late_bias_origin",
                       "method.late_bias_origin = \"segment\" is not defined for method.late_bias = \"time\" (the "
                       "time-based bias has a global origin); set late_bias_origin = \"global\" or late_bias = "
                       "\"steps\"");
}

std::vector<int> sample_late(const SettingValues& params, const Schedule& schedule, int lo, int hi,
                             int segment_origin, int count, std::mt19937_64& rng) {
  const double gamma = params.get_real("late_bias_gamma");
  if (params.get_choice("late_bias") == "time") return sample_late_biased(schedule, lo, hi, count, gamma, rng);
  const int origin = params.get_choice("late_bias_origin") == "segment" ? segment_origin : schedule.steps();
  return sample_late_biased_steps(lo, hi, origin, count, gamma, rng);
}

SettingSpec rounding() {
  return SettingSpec::choice("rounding", "half_even", {"half_even", "first_edition"},
                           "index arithmetic: half_even (Python's round, as the authors' code), or the first "
                           "edition's rule at this method's rounding sites (see its documentation)");
}

bool rounds_half_even(const SettingValues& params) { return params.get_choice("rounding") == "half_even"; }

void apply_weighting(const SettingValues& params, Plan& plan) {
  if (params.has("trajectory_weighting")) plan.trajectory_weighting = params.get_bool("trajectory_weighting");
  if (params.has("trajectory_weighting_normalize"))
    plan.trajectory_weighting_normalize = params.get_bool("trajectory_weighting_normalize");
  if (params.has("residual_floor")) plan.residual_floor = params.get_real("residual_floor");
}

void require_at_most(const SettingValues& params, const std::string& name, std::int64_t limit,
                     const std::string& limit_name) {
  const auto value = params.get_int(name);
  if (value > limit)
    throw SettingError("method." + name, "method." + name + " = " + std::to_string(value) + " must be <= " + limit_name + " = " +
                       std::to_string(limit));
}

}  // namespace common_params
}  // namespace flowbp
