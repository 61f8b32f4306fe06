// A run-log header shaped like the trainer's (docs/LOG_FORMAT.md) and rows whose
// values are a known function of the row index, shared by the C++ tests, the writer
// program and (by the same formulas) tests/runlog/test_run_log_h5py.py.
#pragma once
#include <cmath>
#include <limits>
#include <string>

#include "flowbp/run_log.h"

namespace run_log_test {

inline flowbp::RunLogHeader header(std::int64_t steps_total, int max_active = 3) {
  flowbp::RunLogHeader h;
  h.root_attrs = {{"flowbp_version", std::string("0.1.0")},
                  {"config_toml", std::string("[train]\nsteps = 20\n")},
                  {"config_id", std::string("0123456789ab")},
                  {"run_name", std::string("flowbp-lagrange-test")},
                  {"method", std::string("flowbp-lagrange")},
                  {"seed", std::int64_t{42}},
                  {"world_size", std::int64_t{1}},
                  {"created_utc", std::string("2026-01-01T00:00:00Z")}};
  h.config_leaves = {{"method.name", std::string("flowbp-lagrange")},
                     {"method.K", std::int64_t{4}},
                     {"method.beta", 0.3},
                     {"method.trajectory_weighting", true},
                     {"train.lr", 1e-3},
                     {"sampling.steps", std::int64_t{25}},
                     {"eval.held_out_conditions", std::string("[0, 1, 2, 3]")}};
  auto real = [](const char* name) { return flowbp::ColumnSpec{name, false, false}; };
  auto integer = [](const std::string& name) { return flowbp::ColumnSpec{name, true, false}; };
  h.step_columns = {integer("step"), real("loss"), real("reward_mean"), real("reward_std"),
                    real("grad_norm_pre_clip"), real("grad_norm_post_clip"), real("r_s_mean"), real("r_s_max"),
                    integer("j"), integer("s")};
  for (int a = 0; a < max_active; ++a) h.step_columns.push_back(integer("active_" + std::to_string(a)));
  h.step_columns.push_back(integer("n_active"));
  h.step_columns.push_back(real("time_step"));
  h.eval_columns = {integer("step"), integer("is_base"), real("reward"), real("ood_laplace"),
                    flowbp::ColumnSpec{"ood_distance", false, true}, real("quality_logp")};
  h.steps_total = steps_total;
  return h;
}

// Row i (0-based) of /steps: step = i + 1, loss = 1/(i + 1), reward_mean = 0.5 + i/1000,
// reward_std = 0.1, grad norms 2 and 1, r_s_mean NaN, r_s_max = i, j = i mod 7, s = -1,
// active_a = a < 2 ? 10 - a : -1, n_active = 2, time_step = 0.001.
inline flowbp::Row step_row(std::int64_t i, int max_active = 3) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  flowbp::Row r = {double(i + 1), 1.0 / double(i + 1), 0.5 + double(i) / 1000.0, 0.1, 2.0, 1.0, nan, double(i),
                   double(i % 7), -1.0};
  for (int a = 0; a < max_active; ++a) r.push_back(a < 2 ? 10.0 - a : -1.0);
  r.push_back(2.0);
  r.push_back(0.001);
  return r;
}

// Row e of /eval: step = 10 e, is_base = (e == 0), reward = 0.2 + 0.1 e, ood_laplace = 0.3,
// ood_distance = 1 / (e + 1), quality_logp = -1.5.
inline flowbp::Row eval_row(std::int64_t e) {
  return {double(10 * e), e == 0 ? 1.0 : 0.0, 0.2 + 0.1 * double(e), 0.3, 1.0 / double(e + 1), -1.5};
}

}  // namespace run_log_test
