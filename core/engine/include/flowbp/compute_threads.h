// Process-wide compute settings, made once before any worker thread exists.
//
// Threads: at::set_num_threads does not reach OpenBLAS: with libopenblas0-pthread every
// GEMM still ran on a second thread spinning in sched_yield (perf: ~25% of a benchmark's
// samples), so "1 thread" was two. set_compute_threads sets both, for this process and,
// through the environment, for child processes (sweep runs, the Python reference).
//
// Subnormals: a reward like exp(−d²/2w²) underflows far from every mode and its
// gradients stay near 1e-38…1e-45 through the backward; a GEMM with ~1% subnormal rows
// ran 2.6x slower on an AVX-512 Xeon. Flush-to-zero (and denormals-are-zero) turns them
// into zeros, which changes no gradient above FLT_MIN. Threads inherit the setting from
// the thread that starts them, so it is set first.
//
// Freed memory: glibc hands blocks above a moving threshold back to the OS and maps
// fresh, zeroed pages for the next allocation. When the rollout keeps its reused
// forwards' graphs, later forwards allocate and free their activations around them, and
// that churn (page faults and zeroing) cost 3-9% of a step. keep_freed_memory() keeps
// blocks up to 32 MiB on the heap and trims only above 256 MiB of free top.
#pragma once

namespace flowbp {

// Flush-to-zero on (unless FLOWBP_FLUSH_DENORMAL=0), keep_freed_memory(), then the
// thread counts. Returns false when no OpenBLAS was found in the process (torch threads
// and the environment are set either way).
bool set_compute_threads(int threads);

// glibc's mmap and trim thresholds as above; nothing when GLIBC_TUNABLES sets malloc
// tunables (the user's choice wins). Returns whether it set them.
bool keep_freed_memory();

// FTZ/DAZ for the calling thread (and threads it starts afterwards).
void set_flush_denormal(bool on);
// Whether this thread flushes subnormals now: 1e-40f · 1 gives 0.
bool flush_denormal_active();

}  // namespace flowbp
