// The one surrogate-trajectory engine: builds the sparse backward graph of any
// Plan over a cached rollout (velocity replacement, connectors, Euler
// reconstruction, leaps, bridges, rescaling), and the reward loss on top.
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "flowbp/plan.h"
#include "flowbp/rollout.h"

namespace flowbp {

// ε for renoised programs (DRaFT-LV): a tensor shaped like x for a noise stream id.
using NoiseFn = std::function<at::Tensor(int stream, const at::Tensor& like)>;

struct SurrogateOutput {
  std::vector<at::Tensor> reward_inputs;  // one per program, forward value as the plan says
  at::Tensor d_s;          // per-sample interior connector residual (float64 [B]) or undefined
  at::Tensor d_0;          // per-sample endpoint connector residual or undefined
  double compose_err = -1; // mean|x̂_0 − x_0| at a Guard pin; −1 when there is none
  int active_forwards = 0; // active terms: velocities with gradient (re-forwarded or reused)
  int reused_forwards = 0;  // of those, taken from the rollout's kept forwards (RolloutReuse)
};

// Active terms the rollout already computed with gradient (rollout.v_graph, the chain
// of rollout.x_chain) are taken from it; the others are re-forwarded. Either way the
// graph and the gradient are those of the plan.
SurrogateOutput build_surrogate(const VelocityFn& velocity, const Rollout& rollout, const Plan& plan,
                                const NoiseFn& noise = nullptr);

// ω_b = sg(1 / (max(d_s, τ_r) + max(d_0, τ_r))), d_s omitted when undefined;
// all ones when the plan turns weighting off.
at::Tensor trajectory_weights(const Plan& plan, const SurrogateOutput& out, int64_t batch);

// L = loss_scale · mean_b ω_b · max(0, τ − R̄_b) with R̄ the mean over programs
// (Hinge::OfMeanReward), or loss_scale · mean_b ω_b · mean_p max(0, τ − R_{p,b})
// (Hinge::PerProgram); the same for a single program.
at::Tensor hinge_loss(const std::vector<at::Tensor>& rewards, const at::Tensor& weights, double tau,
                      double loss_scale, Hinge hinge = Hinge::OfMeanReward);

// ρ = 1 + g·(Σ_Ω|w| / Σ_A|w| − 1) (Eq. 42–43 as the authors' code applies it).
double rescale_factor(double sum_abs_full, double sum_abs_active, double strength);

}  // namespace flowbp
