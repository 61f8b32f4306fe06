#include <cstdlib>
#include <string>

#include "flowbp/distributed.h"

namespace flowbp {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

int env_int(const char* name, int fallback, bool required) {
  const char* v = env(name);
  if (!v) {
    if (required) throw DistributedError(std::string("environment variable ") + name + " is not set");
    return fallback;
  }
  try {
    std::size_t used = 0;
    int x = std::stoi(v, &used);
    if (used == std::string(v).size() && x >= 0) return x;
  } catch (const std::exception&) {
  }
  throw DistributedError(std::string("environment variable ") + name + "='" + v + "' is not a non-negative integer");
}

// "node[01-04],other" → "node01"; "a,b" → "a".
std::string first_slurm_host(const std::string& list) {
  std::string head = list.substr(0, list.find_first_of(",["));
  auto bracket = list.find('[');
  if (bracket != std::string::npos && bracket == head.size()) {
    std::string inside = list.substr(bracket + 1);
    head += inside.substr(0, inside.find_first_of("-,]"));
  }
  return head;
}

}  // namespace

RankInfo detect_ranks() {
  RankInfo info;
  if (env("WORLD_SIZE") || env("RANK")) {
    info.launcher = "torchrun";
    info.world_size = env_int("WORLD_SIZE", 1, true);
    info.rank = env_int("RANK", 0, true);
    info.local_rank = env_int("LOCAL_RANK", info.rank, false);
  } else if (env("SLURM_NTASKS") && env("SLURM_PROCID")) {
    info.launcher = "slurm";
    info.world_size = env_int("SLURM_NTASKS", 1, true);
    info.rank = env_int("SLURM_PROCID", 0, true);
    info.local_rank = env_int("SLURM_LOCALID", 0, false);
    if (!env("MASTER_ADDR") && env("SLURM_JOB_NODELIST"))
      info.master_addr = first_slurm_host(env("SLURM_JOB_NODELIST"));
  } else {
    return info;
  }
  if (info.world_size < 1) throw DistributedError("WORLD_SIZE must be >= 1");
  if (info.rank >= info.world_size)
    throw DistributedError("rank " + std::to_string(info.rank) + " is not below world size " +
                           std::to_string(info.world_size));
  if (const char* a = env("MASTER_ADDR")) info.master_addr = a;
  if (info.world_size > 1 && info.launcher == "torchrun" && !env("MASTER_ADDR"))
    throw DistributedError("environment variable MASTER_ADDR is not set (needed with WORLD_SIZE > 1)");
  info.master_port = env_int("MASTER_PORT", 29500, info.world_size > 1 && info.launcher == "torchrun");
  if (info.master_port < 1 || info.master_port > 65535)
    throw DistributedError("MASTER_PORT=" + std::to_string(info.master_port) + " is not a TCP port");
  return info;
}

}  // namespace flowbp
