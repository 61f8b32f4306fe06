// Small, torch-free helpers the method plugins share to write their Plans, so
// that Euler replays, leaps and ρ rescaling are spelled the same way everywhere.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "flowbp/plan.h"
#include "flowbp/schedule.h"

namespace flowbp::plan_builders {

bool contains(const std::vector<int>& indices, int index);

// A program that starts from the cached state x_index.
Program cached_program(int index);

// Euler replay from → to: one term per i = from..to+1 in rollout order, weight Δ_i,
// active (input Cached, grad scale 1) exactly when i is in `active`.
Segment euler_segment(const Schedule& schedule, int from, int to, const std::vector<int>& active, Pin pin);

// A leap from → to over `supports` with the given weights; every term starts
// inactive (cached velocity) and is switched on by the caller.
Segment quadrature_segment(int from, int to, const std::vector<int>& supports, const std::vector<double>& weights,
                           Pin pin);

// A one-term segment: x_to = state − weight·ṽ_index, the term active with `input`.
Segment single_term_segment(int from, int to, int index, double weight, VelocityInput input, Pin pin);

// The term for rollout index `index` in a segment; throws std::logic_error when absent.
Term& term_at(Segment& segment, int index);

// Multiplies the grad scale of every active term in a segment (ρ, support scales).
void scale_active(Segment& segment, double factor);

// Σ|w| over a segment's terms, and over its active terms only.
double abs_weight(const Segment& segment);
double abs_active_weight(const Segment& segment);

// ρ = 1 + g·(Σ_Ω|w| / Σ_A|w| − 1) (Eq. 42–43); 1 when nothing is active.
double grad_rescale(double sum_abs_full, double sum_abs_active, double strength);

// Fills plan.active from the terms; call last.
void finish(Plan& plan);

// Splits a budget of `total` actives over two segments of `pre_len` and `post_len`
// indices in proportion to their lengths, at least one each side, never more than a
// segment holds (FlowBP-Bridge), as the authors' _allocate_flowbp_bridge_active_counts:
// pre = round_half_even(total·pre_len/(pre_len + post_len)) clamped to [1, pre_len], post
// the rest within [1, post_len], any shortfall given to pre, then post. Returns {pre, post}.
std::pair<int, int> split_budget(int total, int pre_len, int post_len);
// The first edition's split: the same proportion rounded half away from zero, clamped to
// [1, min(pre_len, total − 1)], a full post segment giving the rest back to pre.
std::pair<int, int> split_budget_v1(int total, int pre_len, int post_len);

}  // namespace flowbp::plan_builders
