#include "flowbp/resource_checks.h"

#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

namespace flowbp {

namespace {

double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void require_cores(int threads, bool from_command_line) {
  const int cores = available_cores();
  if (threads <= cores) return;
  const std::string key = from_command_line ? "--threads" : "train.threads";
  throw ConfigError(key + " = " + std::to_string(threads) + ": this machine offers " + std::to_string(cores) +
                    " core(s) to this process; more torch threads than cores only slow the run down. Set " + key +
                    " <= " + std::to_string(cores));
}

void require_memory(const Experiment& e, const LatentSpec& latents, const Compute& compute, int world_size) {
  if (!compute.device.is_cpu()) return;  // a GPU's own allocator reports an out-of-memory clearly
  const double available = physical_memory_bytes();
  if (available <= 0) return;
  double per_sample = 4.0;  // float32
  for (auto d : latents.shape) per_sample *= static_cast<double>(d);
  const double batch = static_cast<double>(e.train.batch) / std::max(1, world_size);
  const double train = (2.0 * static_cast<double>(e.sampling.steps) + 1.0) * batch * per_sample;
  const double eval_samples =
      static_cast<double>(e.eval.samples_per_condition) * static_cast<double>(e.eval.held_out_conditions.size());
  const double eval = (2.0 * static_cast<double>(e.eval.steps) + 1.0) * eval_samples * per_sample;
  // Half the machine: the model, its activations and the rest of the process need room too.
  const double budget = 0.5 * available;
  if (train > budget)
    throw ConfigError("sampling.steps = " + std::to_string(e.sampling.steps) + " with train.batch = " +
                      std::to_string(e.train.batch) + ": the cached rollout alone needs " + gib(train) +
                      " (2N+1 latents per sample), more than half of this machine's " + gib(available) +
                      "; lower sampling.steps or train.batch");
  if (eval > budget)
    throw ConfigError("eval.steps = " + std::to_string(e.eval.steps) + " with " +
                      std::to_string(static_cast<long long>(eval_samples)) +
                      " evaluation samples (eval.samples_per_condition x held-out conditions): sampling them needs " +
                      gib(eval) + ", more than half of this machine's " + gib(available) +
                      "; lower eval.steps or eval.samples_per_condition");
}

}  // namespace flowbp
