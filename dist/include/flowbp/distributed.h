// Data-parallel ranks through c10d: Gloo on CPU, NCCL on CUDA. Ranks are
// described the way PyTorch users start them (torchrun or Slurm variables).
#pragma once
#include <ATen/core/Tensor.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowbp {

struct DistributedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RankInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "single";  // "torchrun", "slurm" or "single"
  bool distributed() const { return world_size > 1; }
};

// Reads RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT (torchrun), else
// SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (with MASTER_ADDR from the environment or
// the first host of SLURM_JOB_NODELIST); a single process otherwise. Throws
// DistributedError naming the variable that is missing or malformed.
RankInfo detect_ranks();

class ProcessGroup {
 public:
  // Joins the group (rendezvous through a TCPStore at master_addr:master_port). A rank
  // that does not arrive, or dies later, makes collectives fail after `timeout`
  // with a DistributedError instead of hanging.
  static std::unique_ptr<ProcessGroup> join(const RankInfo& ranks, bool cuda,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(60));
  virtual ~ProcessGroup();
  virtual const RankInfo& ranks() const = 0;
  virtual std::string backend() const = 0;  // "gloo" or "nccl"
  // Averages the gradients of `params` over all ranks (one flattened all-reduce).
  virtual void average_gradients(const std::vector<at::Tensor>& params) = 0;
  // Copies rank 0's values into every rank's tensors (initial weights).
  virtual void broadcast_from_rank0(const std::vector<at::Tensor>& tensors) = 0;
  // Sums a few scalars over ranks (for logging global means).
  virtual std::vector<double> sum(const std::vector<double>& values) = 0;
  // The largest of each scalar over ranks (minima: negate).
  virtual std::vector<double> max(const std::vector<double>& values) = 0;
  virtual void barrier() = 0;
};

}  // namespace flowbp
