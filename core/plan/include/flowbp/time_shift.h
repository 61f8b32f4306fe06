// The time-schedule shift of a run (docs/CONFIG.md, [sampling]): the static SD3 warp
// t' = s·t / (1 + (s − 1)·t), or the FLUX dynamic shift, where mu is computed from the
// image's token count and the schedule is diffusers' exponential time shift
// t' = e^mu / (e^mu + (1/t − 1)^σ) with σ = 1 — which is the same warp with s = e^mu, so
// every mode ends in Schedule::make(N, shift_for(N)). Torch-free.
#pragma once
#include <cstdint>
#include <string>

namespace flowbp {

// FLUX.1 (diffusers' calculate_shift, used by the authors' FLUX.1 trainers): mu linear
// in the sequence length L through (base_seq_len, base_shift) and (max_seq_len, max_shift).
double flux_dynamic_mu(std::int64_t seq_len, std::int64_t base_seq_len, std::int64_t max_seq_len, double base_shift,
                       double max_shift);

// FLUX.2 (the authors' compute_empirical_mu, flux2/leapalign.py L160–L172): a fit in L and
// the number of steps N; above L = 4300, a2·L + b2 alone.
double flux2_empirical_mu(std::int64_t seq_len, int steps);

// The exponential time shift with σ = 1: e^mu / (e^mu + 1/t − 1); 0 at t = 0, 1 at t = 1.
double exponential_time_shift(double mu, double t);

struct TimeShift {
  std::string mode = "static";  // "static", "dynamic" (FLUX.1) or "empirical" (FLUX.2)
  double shift = 1.0;           // static: sampling.shift
  double base_shift = 0.5, max_shift = 1.15;            // dynamic
  std::int64_t base_seq_len = 256, max_seq_len = 4096;  // dynamic
  std::int64_t image_seq_len = 0;                       // dynamic, empirical: the image's tokens

  bool is_static() const { return mode == "static"; }
  // mu of the dynamic modes for an N-step schedule (the empirical fit depends on N).
  double mu(int steps) const;
  // The s of Schedule::make for an N-step schedule: `shift`, or e^mu.
  double shift_for(int steps) const;
};

}  // namespace flowbp
