// The subnormal-gradient case, timed: a 256×512 gradient with ~1% rows of subnormal
// values (the toy reward's underflow far from every mode) times a 512×512 weight, next
// to the same GEMM on normal values, with flush-to-zero off and on. On an AVX-512 Xeon
// the subnormal GEMM ran 2.6x slower with it off; with it on the ratio should be 1.
#pragma once

namespace flowbp::bench {

struct SubnormalTiming {
  // Seconds of process CPU time per GEMM (medians over rounds).
  double normal_off = 0, subnormal_off = 0, normal_on = 0, subnormal_on = 0;
  bool flushed_on = false;  // the subnormal rows really came out zero with it on
  double ratio_off() const { return normal_off > 0 ? subnormal_off / normal_off : 0; }
  double ratio_on() const { return normal_on > 0 ? subnormal_on / normal_on : 0; }
};

// Runs on the calling thread's floating-point mode (restored to on afterwards); meant
// for one compute thread, where every GEMM runs on this thread.
SubnormalTiming time_subnormal_gemm(int rounds = 5, int gemms_per_round = 20);

}  // namespace flowbp::bench
