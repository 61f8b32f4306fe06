#include "flowbp/plan.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace flowbp {

const char* to_string(VelocityInput input) {
  switch (input) {
    case VelocityInput::Cached: return "cached";
    case VelocityInput::Start: return "start";
    case VelocityInput::Bridge: return "bridge";
    case VelocityInput::Chain: return "chain";
  }
  return "?";
}

const char* to_string(Pin pin) {
  switch (pin) {
    case Pin::None: return "none";
    case Pin::Connector: return "connector";
    case Pin::Guard: return "guard";
  }
  return "?";
}

const char* to_string(Hinge hinge) {
  switch (hinge) {
    case Hinge::OfMeanReward: return "of_mean_reward";
    case Hinge::PerProgram: return "per_program";
  }
  return "?";
}

namespace {
constexpr int kNoGradient = -1;  // the quantity does not depend on θ at all

int through_jacobian(int input_depth) { return input_depth == kNoGradient ? 0 : input_depth + 1; }
}  // namespace

int jacobian_depth(const Plan& plan) {
  int depth = 0;
  for (const auto& program : plan.programs) {
    int running = kNoGradient;  // starts are always detached
    for (const auto& segment : program.segments) {
      const int segment_start = running;
      for (const auto& term : segment.terms) {
        if (!term.active) continue;
        int contribution = 0;
        if (term.input == VelocityInput::Bridge && term.beta > 0)
          contribution = through_jacobian(segment_start);
        else if (term.input == VelocityInput::Chain)
          contribution = through_jacobian(running);
        running = std::max(running, contribution);
      }
    }
    depth = std::max(depth, running);
  }
  return depth;
}

std::vector<int> active_indices(const Plan& plan) {
  std::set<int> active;
  for (const auto& program : plan.programs)
    for (const auto& segment : program.segments)
      for (const auto& term : segment.terms)
        if (term.active) active.insert(term.index);
  return {active.rbegin(), active.rend()};
}

void check_plan(const Plan& plan, int steps, const std::string& method, bool allow_negative_weights) {
  auto fail = [&](const std::string& what) {
    throw std::logic_error("method '" + method + "' produced an invalid plan: " + what);
  };
  if (plan.programs.empty()) fail("no programs");
  for (std::size_t p = 0; p < plan.programs.size(); ++p) {
    const auto& program = plan.programs[p];
    if (program.start.index < 0 || program.start.index > steps) fail("start index out of range");
    if (program.start.kind == Start::Kind::Renoise &&
        (program.start.source_program < 0 || static_cast<std::size_t>(program.start.source_program) >= p))
      fail("a renoised program must start from an earlier program");
    if (program.segments.empty()) fail("a program without segments");
    int at = program.start.index;
    for (const auto& segment : program.segments) {
      if (segment.from != at) fail("segments do not chain (expected from = " + std::to_string(at) + ")");
      if (segment.to >= segment.from || segment.to < 0) fail("a segment must move to a smaller index");
      for (const auto& term : segment.terms) {
        if (term.index < 1 || term.index > steps) fail("term index " + std::to_string(term.index) + " out of [1, N]");
        if (!std::isfinite(term.weight)) fail("non-finite weight");
        if (!allow_negative_weights && term.weight < 0)
          fail("negative weight at index " + std::to_string(term.index));
        if (!std::isfinite(term.grad_scale) || !std::isfinite(term.beta)) fail("non-finite scale");
      }
      at = segment.to;
    }
  }
}

}  // namespace flowbp
