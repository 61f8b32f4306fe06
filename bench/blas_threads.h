// at::set_num_threads does not reach OpenBLAS: with libopenblas0-pthread every GEMM
// still ran on a second thread that spun in sched_yield (perf: ~25% of the bench's
// samples), so "1 thread" was two. The benchmark pins BLAS to the same count, for
// itself and, through the environment, for the Python reference.
#pragma once

namespace flowbp::bench {

// Calls openblas_set_num_threads when the process has it and sets
// OPENBLAS_NUM_THREADS / OMP_NUM_THREADS for child processes. Returns false when
// no OpenBLAS was found (the environment is set either way).
bool limit_blas_threads(int threads);

}  // namespace flowbp::bench
