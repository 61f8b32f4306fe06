#include "flowbp/plan_builders.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "flowbp/samplers.h"

namespace flowbp::plan_builders {

bool contains(const std::vector<int>& indices, int index) {
  return std::find(indices.begin(), indices.end(), index) != indices.end();
}

Program cached_program(int index) {
  Program program;
  program.start.kind = Start::Kind::Cached;
  program.start.index = index;
  return program;
}

Segment euler_segment(const Schedule& schedule, int from, int to, const std::vector<int>& active, Pin pin) {
  if (to >= from) throw std::logic_error("an Euler segment must move to a smaller index");
  Segment segment;
  segment.from = from;
  segment.to = to;
  segment.pin = pin;
  for (int i = from; i > to; --i) {
    Term term;
    term.index = i;
    term.weight = schedule.dt(i);
    term.active = contains(active, i);
    segment.terms.push_back(term);
  }
  return segment;
}

Segment quadrature_segment(int from, int to, const std::vector<int>& supports, const std::vector<double>& weights,
                           Pin pin) {
  if (supports.size() != weights.size()) throw std::logic_error("one weight per support");
  Segment segment;
  segment.from = from;
  segment.to = to;
  segment.pin = pin;
  for (std::size_t p = 0; p < supports.size(); ++p) {
    Term term;
    term.index = supports[p];
    term.weight = weights[p];
    segment.terms.push_back(term);
  }
  return segment;
}

Segment single_term_segment(int from, int to, int index, double weight, VelocityInput input, Pin pin) {
  Segment segment = quadrature_segment(from, to, {index}, {weight}, pin);
  segment.terms[0].active = true;
  segment.terms[0].input = input;
  return segment;
}

Term& term_at(Segment& segment, int index) {
  for (auto& term : segment.terms)
    if (term.index == index) return term;
  throw std::logic_error("segment " + std::to_string(segment.from) + "->" + std::to_string(segment.to) +
                         " has no term at index " + std::to_string(index));
}

void scale_active(Segment& segment, double factor) {
  for (auto& term : segment.terms)
    if (term.active) term.grad_scale *= factor;
}

double abs_weight(const Segment& segment) {
  double sum = 0;
  for (const auto& term : segment.terms) sum += std::abs(term.weight);
  return sum;
}

double abs_active_weight(const Segment& segment) {
  double sum = 0;
  for (const auto& term : segment.terms)
    if (term.active) sum += std::abs(term.weight);
  return sum;
}

double grad_rescale(double sum_abs_full, double sum_abs_active, double strength) {
  if (sum_abs_active <= 0) return 1.0;
  return 1.0 + strength * (sum_abs_full / sum_abs_active - 1.0);
}

void finish(Plan& plan) { plan.active = active_indices(plan); }

std::pair<int, int> split_budget(int total, int pre_len, int post_len) {
  if (pre_len < 1 || post_len < 1) throw std::logic_error("both bridge segments must be non-empty");
  total = std::min(total, pre_len + post_len);
  if (total < 2) throw std::logic_error("a bridge needs at least two actives, one each side");
  int pre = static_cast<int>(round_half_even(static_cast<double>(total) * pre_len / static_cast<double>(pre_len + post_len)));
  pre = std::clamp(pre, 1, pre_len);
  int post = total - pre;
  if (post < 1) {
    post = 1;
    pre = total - post;
  }
  if (post > post_len) {
    post = post_len;
    pre = total - post;
  }
  pre = std::clamp(pre, 1, pre_len);
  post = std::clamp(post, 1, post_len);
  int missing = total - pre - post;
  if (missing > 0) {
    const int add = std::min(missing, pre_len - pre);
    pre += add;
    missing -= add;
  }
  if (missing > 0) post += std::min(missing, post_len - post);
  return {pre, post};
}

std::pair<int, int> split_budget_v1(int total, int pre_len, int post_len) {
  if (pre_len < 1 || post_len < 1) throw std::logic_error("both bridge segments must be non-empty");
  total = std::min(total, pre_len + post_len);
  if (total < 2) throw std::logic_error("a bridge needs at least two actives, one each side");
  int pre = static_cast<int>(std::lround(static_cast<double>(total) * pre_len / (pre_len + post_len)));
  pre = std::clamp(pre, 1, std::min(pre_len, total - 1));
  int post = total - pre;
  if (post > post_len) {  // the post segment is full: give the rest back to pre
    post = post_len;
    pre = std::min(pre_len, total - post);
  }
  return {pre, post};
}

}  // namespace flowbp::plan_builders
