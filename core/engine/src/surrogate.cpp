#include "flowbp/surrogate.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "flowbp/grad_ops.h"

namespace flowbp {

namespace {

at::Tensor start_state(const Program& program, const Rollout& rollout, const std::vector<at::Tensor>& results,
                       const NoiseFn& noise) {
  if (program.start.kind == Start::Kind::Cached) return rollout.x.at(program.start.index);
  if (!noise) throw std::logic_error("a renoised program needs a noise source");
  const double t = rollout.schedule.t.at(program.start.index);
  at::Tensor source = results.at(program.start.source_program).detach();
  return source * (1.0 - t) + noise(program.start.noise_stream, source) * t;
}

at::Tensor velocity_input(const Term& term, const Rollout& rollout, const at::Tensor& start,
                          const at::Tensor& segment_start, const at::Tensor& running) {
  switch (term.input) {
    case VelocityInput::Cached: return rollout.x.at(term.index).detach();
    case VelocityInput::Start: return start.detach();
    case VelocityInput::Bridge: return grad_scale(segment_start, term.beta);
    case VelocityInput::Chain: return running;
  }
  throw std::logic_error("unknown velocity input");
}

// The rollout's forward at index i with its graph, or an undefined tensor.
const at::Tensor& kept_forward(const Rollout& rollout, int index) {
  static const at::Tensor none;
  const auto i = static_cast<std::size_t>(index);
  return i < rollout.v_graph.size() ? rollout.v_graph[i] : none;
}

}  // namespace

SurrogateOutput build_surrogate(const VelocityFn& velocity, const Rollout& rollout, const Plan& plan,
                                const NoiseFn& noise) {
  SurrogateOutput out;
  std::vector<at::Tensor> results;
  for (const auto& program : plan.programs) {
    const at::Tensor start = start_state(program, rollout, results, noise);
    at::Tensor running = start;
    // While ≥ 0, `running` is the rollout's chained state x_chain[chain_at] (full
    // backprop run with gradient inside the rollout): replayed terms take its next state.
    int chain_at = program.start.kind == Start::Kind::Cached && program.start.index == rollout.chain_from
                       ? rollout.chain_from
                       : -1;
    for (const auto& segment : program.segments) {
      const at::Tensor segment_start = running;
      for (const auto& term : segment.terms) {
        if (chain_at > rollout.chain_to && RolloutReuse::replays_step(term, chain_at, rollout.schedule)) {
          running = rollout.x_chain.at(static_cast<std::size_t>(--chain_at));
          ++out.active_forwards;
          ++out.reused_forwards;
          continue;
        }
        chain_at = -1;
        at::Tensor v;
        if (term.active) {
          if (RolloutReuse::on_cached_input(term, program) && kept_forward(rollout, term.index).defined()) {
            v = kept_forward(rollout, term.index);  // the rollout's own forward on sg(x_i), with its graph
            ++out.reused_forwards;
          } else {
            v = velocity(velocity_input(term, rollout, start, segment_start, running),
                         rollout.schedule.t.at(term.index));
          }
          v = grad_scale(v, term.grad_scale);
          ++out.active_forwards;
        } else {
          v = rollout.v.at(term.index);  // cached, computed without gradient
        }
        running = euler_update(running, v, term.weight);
      }
      if (segment.pin == Pin::None) continue;
      chain_at = -1;
      const at::Tensor& cached = rollout.x.at(segment.to);
      if (segment.pin == Pin::Connector) {
        (segment.to == 0 ? out.d_0 : out.d_s) = residual_per_sample(cached, running);
      } else {
        out.compose_err = residual_per_sample(cached, running).mean().item<double>();
      }
      running = connector(cached, running);
    }
    results.push_back(running);
  }
  out.reward_inputs = std::move(results);
  return out;
}

at::Tensor trajectory_weights(const Plan& plan, const SurrogateOutput& out, int64_t batch) {
  at::Tensor ones = at::ones({batch}, at::kDouble);
  if (!plan.trajectory_weighting || (!out.d_0.defined() && !out.d_s.defined())) return ones;
  at::Tensor denom = at::zeros({batch}, at::kDouble);
  if (out.d_s.defined()) denom = denom + out.d_s.clamp_min(plan.residual_floor);
  if (out.d_0.defined()) denom = denom + out.d_0.clamp_min(plan.residual_floor);
  at::Tensor w = ones / denom;
  if (plan.trajectory_weighting_normalize) w = w / w.mean();
  return w;
}

at::Tensor hinge_loss(const std::vector<at::Tensor>& rewards, const at::Tensor& weights, double tau,
                      double loss_scale, Hinge hinge_on) {
  if (rewards.empty()) throw std::invalid_argument("hinge loss needs at least one reward");
  at::Tensor hinge;
  if (rewards.size() == 1) {
    hinge = at::relu(tau - rewards[0]);
  } else if (hinge_on == Hinge::PerProgram) {
    hinge = at::relu(tau - at::stack(rewards)).mean(0);
  } else {
    hinge = at::relu(tau - at::stack(rewards).mean(0));
  }
  if (weights.defined()) hinge = hinge * weights.detach().to(hinge.scalar_type());
  return hinge.mean() * loss_scale;
}

double rescale_factor(double sum_abs_full, double sum_abs_active, double strength) {
  if (sum_abs_active <= 0) return 1.0;
  const double full = sum_abs_full / sum_abs_active;
  return 1.0 + strength * (full - 1.0);
}

}  // namespace flowbp
