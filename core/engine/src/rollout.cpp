#include "flowbp/rollout.h"

#include <ATen/ATen.h>

namespace flowbp {

at::Tensor euler_update(const at::Tensor& state, const at::Tensor& velocity, double weight) {
  return state - velocity * weight;
}

std::int64_t Rollout::cache_bytes() const {
  std::int64_t bytes = 0;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) bytes += static_cast<std::int64_t>(x[i].nbytes());
  for (std::size_t i = 1; i < v.size(); ++i) bytes += static_cast<std::int64_t>(v[i].nbytes());
  return bytes;
}

Rollout cached_rollout(const VelocityFn& velocity, const at::Tensor& noise, const Schedule& schedule,
                       const RolloutReuse& reuse) {
  Rollout r;
  r.schedule = schedule;
  const int n = schedule.steps();
  const auto size = static_cast<std::size_t>(n) + 1;
  r.x.resize(size);
  r.v.resize(size);
  r.v_graph.resize(size);
  r.x_chain.resize(size);
  r.chain_from = reuse.chain_from;
  r.chain_to = reuse.chain_to;
  r.x[n] = noise.detach();
  for (int i = n; i >= 1; --i) {
    const double t = schedule.t[i], dt = schedule.dt(i);
    if (reuse.chained(i)) {
      at::AutoGradMode with_grad(true);
      // Full backprop's chain: the same ops as the surrogate's Chain terms, on the
      // running state with its graph, starting from the detached cached state.
      if (i == reuse.chain_from) r.x_chain[i] = r.x[i];
      r.v_graph[i] = velocity(r.x_chain[i], t);
      r.x_chain[i - 1] = euler_update(r.x_chain[i], r.v_graph[i], dt);
      r.v[i] = r.v_graph[i].detach();
      r.x[i - 1] = r.x_chain[i - 1].detach();
      // Below the chain's start the chained v is not v(sg(x_i)): not for Cached terms.
      if (i != reuse.chain_from) r.v_graph[i] = at::Tensor();
      continue;
    }
    if (reuse.kept(i)) {
      at::AutoGradMode with_grad(true);
      r.v_graph[i] = velocity(r.x[i], t);  // x[i] is detached: the graph starts here
      r.v[i] = r.v_graph[i].detach();
    } else {
      at::NoGradGuard no_grad;
      r.v[i] = velocity(r.x[i], t);
    }
    at::NoGradGuard no_grad;
    r.x[i - 1] = euler_update(r.x[i], r.v[i], dt);
  }
  return r;
}

}  // namespace flowbp
