// The cached rollout (docs/METHODS.md §1): all N Euler steps, keeping {x_i} and {v_i},
// never activations — except the forwards a plan will re-run with gradient on the
// same input (RolloutReuse): those steps run with gradient here and keep their graph,
// so the surrogate uses them instead of computing them a second time.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "flowbp/plan.h"
#include "flowbp/schedule.h"
#include "flowbp/velocity.h"

namespace flowbp {

// Which rollout steps run with gradient, read off a plan before the rollout.
struct RolloutReuse {
  // keep[i]: v_θ(sg(x_i), t_i) with its graph, for active terms on the cached input
  // (VelocityInput::Cached, or Start on a program starting at x_i).
  std::vector<bool> keep;
  // Steps chain_from..chain_to+1 chained with gradient from sg(x_{chain_from}): a
  // program's run of VelocityInput::Chain terms replaying the rollout's own Euler
  // steps (full backprop). −1: none.
  int chain_from = -1, chain_to = -1;
  bool kept(int i) const { return i >= 0 && static_cast<std::size_t>(i) < keep.size() && keep[i]; }
  bool chained(int i) const { return chain_from >= 0 && i <= chain_from && i > chain_to; }
  // Rollout steps that run with gradient (the forwards the surrogate will not repeat).
  int forwards_with_grad() const;

  // A term the rollout computes as it is: an active term on the cached input x_i, or
  // Start on a program that starts at x_i (both v_θ(sg(x_i), t_i)).
  static bool on_cached_input(const Term& term, const Program& program);
  // A Chain term that replays rollout step `at` exactly (index, weight Δ_at, no grad scale).
  static bool replays_step(const Term& term, int at, const Schedule& schedule);
};

// What of the plan the rollout can compute (nothing when reuse is off: the classic
// engine, kept for comparison and for tests).
RolloutReuse rollout_reuse(const Plan& plan, const Schedule& schedule);

struct Rollout {
  Schedule schedule;
  std::vector<at::Tensor> x;  // x[i], i = 0..N, detached; x[N] is the noise
  std::vector<at::Tensor> v;  // v[i], i = 1..N, detached; v[0] is undefined
  // Where RolloutReuse asked: v_graph[i] = v_θ(sg(x_i), t_i) with its graph (same value as v[i]).
  std::vector<at::Tensor> v_graph;
  // x_chain[i], chain_to ≤ i ≤ chain_from: the state chained with gradient from sg(x_{chain_from}).
  std::vector<at::Tensor> x_chain;
  int chain_from = -1, chain_to = -1;
  int steps() const { return schedule.steps(); }
  // Bytes of x[0..N−1] and v[1..N]: the (2N)·latent the rollout adds besides graphs
  // (x[N], the noise, exists before it), linear in N by design.
  std::int64_t cache_bytes() const;
};

// One Euler step x_{i−1} = x_i − Δ_i·v_i, written once so the surrogate's
// reconstruction reproduces the rollout bit for bit.
at::Tensor euler_update(const at::Tensor& state, const at::Tensor& velocity, double weight);

// Without reuse, the whole rollout runs without gradient. With it, the kept and
// chained steps run with gradient (grad mode must be on) and keep their graphs; every
// x[i] and v[i] has the value the no-gradient rollout gives.
Rollout cached_rollout(const VelocityFn& velocity, const at::Tensor& noise, const Schedule& schedule,
                       const RolloutReuse& reuse = {});

}  // namespace flowbp
