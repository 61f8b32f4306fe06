// A counting CPU allocator: wraps LibTorch's CPU allocator to report current
// and peak bytes, so memory invariants are measured, not assumed.
#pragma once
#include <cstdint>

namespace flowbp::memory {

// Installs the counter as LibTorch's CPU allocator (idempotent, process-wide).
void install_counting_allocator();
bool counting_installed();
std::int64_t current_bytes();
std::int64_t peak_bytes();
// Sets the peak to the current level, so a later peak_bytes() − current is a phase's growth.
void reset_peak();

}  // namespace flowbp::memory
