// A surrogate plan: what a method decides each step (indices, supports, weights,
// reward target), as plain data. The engine (surrogate.h) turns any plan into
// the sparse backward graph, so methods never touch autograd themselves.
#pragma once
#include <limits>
#include <string>
#include <vector>

namespace flowbp {

// Where a re-forwarded velocity takes its input from.
enum class VelocityInput {
  Cached,  // v(sg(x_i)): regular active, no inter-step Jacobian
  Start,   // v(sg(program start)): for programs that start from a non-cached state
  Bridge,  // v(gs(segment start; beta)): the single nested path (Eq. 4, i = s)
  Chain,   // v(running state): full backprop through the step (DRaFT-K)
};
const char* to_string(VelocityInput input);

struct Term {
  int index = 0;           // rollout index i: the velocity at t_i
  double weight = 0.0;     // the state moves by −weight·ṽ_i
  bool active = false;     // re-forward with gradient; inactive terms use sg(v_i)
  VelocityInput input = VelocityInput::Cached;
  double beta = 1.0;       // gradient scale of the bridge input (Bridge only)
  double grad_scale = 1.0; // gs(ṽ; grad_scale): ρ rescaling times any support scale
};

// How a segment's end state is tied to the cached rollout.
enum class Pin {
  None,       // reconstruction / posterior mean: the estimate is used as it is
  Connector,  // straight-through connector x̃_k = x_k + (x̂_k − sg(x̂_k)); residual logged
  Guard,      // the same pin on an Euler reconstruction, logged as compose_err
};
const char* to_string(Pin pin);

struct Segment {
  int from = 0;  // index the segment starts at (j)
  int to = 0;    // index it ends at (k < j)
  std::vector<Term> terms;  // applied in order (rollout order for Euler)
  Pin pin = Pin::None;
};

struct Start {
  enum class Kind { Cached, Renoise } kind = Kind::Cached;
  int index = 0;          // the cached state x_index (Cached), or the time index (Renoise)
  int source_program = 0; // Renoise: x = (1 − t)·sg(result of source) + t·ε_stream
  int noise_stream = 0;
};

struct Program {
  Start start;
  std::vector<Segment> segments;
};

// How the hinge meets several programs' rewards (DRaFT-LV's extra targets).
enum class Hinge {
  OfMeanReward,  // max(0, τ − mean over programs of R): the first edition
  PerProgram,    // mean over programs of max(0, τ − R): the authors' code (one hinge per target)
};
const char* to_string(Hinge hinge);

struct Plan {
  std::vector<Program> programs;  // reward inputs, one per program
  Hinge hinge = Hinge::OfMeanReward;  // the same for a single program
  bool trajectory_weighting = false;
  bool trajectory_weighting_normalize = false;
  double residual_floor = 0.1;
  // ρ, logged: of the single rescaling range, or of the first (noise-side) range where
  // the scope has two (FlowBP-Lagrange per leap, FlowBP-Bridge per segment) ...
  double grad_rescale_factor = 1.0;
  // ... and of the second range (the leap s → 0, the segment {1..s}); NaN with one range.
  double grad_rescale_factor_post = std::numeric_limits<double>::quiet_NaN();
  // For the log: the sampled leap indices (−1 when the method has none) and active set.
  int j = -1;
  int s = -1;
  std::vector<int> active;
};

// Largest number of inter-step Jacobian factors on any gradient path (paper A.1),
// read off the plan: a Bridge/Chain input with β > 0 adds one factor to whatever
// reaches its input.
int jacobian_depth(const Plan& plan);

// The sorted, de-duplicated active indices of all programs.
std::vector<int> active_indices(const Plan& plan);

// Structural checks every plan must pass (indices in range, segments chained,
// positive weights unless allowed). Throws std::logic_error naming the method.
void check_plan(const Plan& plan, int steps, const std::string& method, bool allow_negative_weights);

}  // namespace flowbp
