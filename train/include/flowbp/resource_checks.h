// Resource settings bounded by what the machine has, checked when a run starts (not
// when its configuration is read: a sweep is often validated on another machine than
// the one that runs it).
#pragma once
#include <cstdint>

#include "flowbp/backbone.h"
#include "flowbp/compute.h"
#include "flowbp/experiment.h"

namespace flowbp {

// The cores this process may run on (its CPU affinity).
int available_cores();

// Throws ConfigError when more torch threads are asked for than there are cores: more
// threads than cores only slow a run down, and a typo (100000) would spawn them for minutes.
void require_cores(int threads, bool from_command_line);

// Throws ConfigError naming the keys when the cached rollouts (training: 2N+1 latents
// per sample of a rank's batch; evaluation: 2·eval.steps+1 per evaluation sample) would
// not fit in this machine's memory (CPU runs).
void require_memory(const Experiment& experiment, const LatentSpec& latents, const Compute& compute, int world_size);

}  // namespace flowbp
