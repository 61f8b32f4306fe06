// at::set_num_threads does not reach OpenBLAS: with libopenblas0-pthread every GEMM
// still ran on a second thread spinning in sched_yield (perf: ~25% of a benchmark's
// samples), so "1 thread" was two. This sets both, for this process and, through
// the environment, for child processes (sweep runs, the Python reference).
#pragma once

namespace flowbp {

// Returns false when no OpenBLAS was found in the process (torch threads and the
// environment are set either way).
bool set_compute_threads(int threads);

}  // namespace flowbp
