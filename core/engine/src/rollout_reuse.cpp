#include "flowbp/rollout.h"

namespace flowbp {

bool RolloutReuse::on_cached_input(const Term& term, const Program& program) {
  if (!term.active) return false;
  if (term.input == VelocityInput::Cached) return true;
  return term.input == VelocityInput::Start && program.start.kind == Start::Kind::Cached &&
         program.start.index == term.index;
}

bool RolloutReuse::replays_step(const Term& term, int at, const Schedule& schedule) {
  // Exact comparisons on purpose: only a term the rollout computes bit for bit is replaced.
  return term.active && term.input == VelocityInput::Chain && term.index == at && at >= 1 &&
         term.weight == schedule.dt(at) && term.grad_scale == 1.0;
}

int RolloutReuse::forwards_with_grad() const {
  int n = chain_from >= 0 ? chain_from - chain_to : 0;
  for (std::size_t i = 0; i < keep.size(); ++i)
    if (keep[i] && !chained(static_cast<int>(i))) ++n;
  return n;
}

namespace {

// The leading run of a program's terms that replays the rollout from its cached
// start; a pin ends it (the connector replaces the running state). Returns the index
// the chain reaches (== start when there is none).
int chain_end(const Program& program, const Schedule& schedule) {
  int at = program.start.index;
  for (const auto& segment : program.segments) {
    for (const auto& term : segment.terms) {
      if (!RolloutReuse::replays_step(term, at, schedule)) return at;
      --at;
    }
    if (segment.pin != Pin::None) return at;
  }
  return at;
}

}  // namespace

RolloutReuse rollout_reuse(const Plan& plan, const Schedule& schedule) {
  RolloutReuse reuse;
  reuse.keep.assign(static_cast<std::size_t>(schedule.steps()) + 1, false);
  for (const auto& program : plan.programs) {
    if (program.start.kind == Start::Kind::Cached && reuse.chain_from < 0) {
      const int end = chain_end(program, schedule);
      if (end < program.start.index) {
        reuse.chain_from = program.start.index;
        reuse.chain_to = end;
      }
    }
    for (const auto& segment : program.segments)
      for (const auto& term : segment.terms)
        if (RolloutReuse::on_cached_input(term, program)) reuse.keep[static_cast<std::size_t>(term.index)] = true;
  }
  // Inside the chain (below its start) the rollout's v is not v(sg(x_i)): such a
  // Cached term is re-forwarded by the surrogate.
  for (int i = reuse.chain_to + 1; reuse.chain_from >= 0 && i < reuse.chain_from; ++i)
    reuse.keep[static_cast<std::size_t>(i)] = false;
  return reuse;
}

}  // namespace flowbp
