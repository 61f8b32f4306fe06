// One data-parallel rank of a small least-squares model, configured by the
// torchrun variables. Rank r trains on its slice of a global batch that every
// rank can regenerate, so W ranks must end with the weights of one process that
// sees the whole batch. Prints the final weights on rank 0.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "flowbp/distributed.h"

int main(int argc, char** argv) {
  const bool die_early = argc > 1 && !std::strcmp(argv[1], "--rank1-dies");
  const int global_batch = 8, steps = 5;
  try {
    flowbp::RankInfo ranks = flowbp::detect_ranks();
    std::unique_ptr<flowbp::ProcessGroup> group;
    if (ranks.distributed()) group = flowbp::ProcessGroup::join(ranks, false, std::chrono::seconds(15));
    at::manual_seed(1000 + ranks.rank);  // different on purpose: the broadcast must fix it
    at::Tensor w = at::randn({3, 2}, at::kDouble).set_requires_grad(true);
    if (group) group->broadcast_from_rank0({w});
    const int local = global_batch / ranks.world_size;
    for (int step = 0; step < steps; ++step) {
      at::manual_seed(step);  // the global batch of this step, identical on every rank
      at::Tensor x = at::randn({global_batch, 3}, at::kDouble);
      at::Tensor y = at::randn({global_batch, 2}, at::kDouble);
      x = x.narrow(0, ranks.rank * local, local);
      y = y.narrow(0, ranks.rank * local, local);
      at::Tensor loss = (at::matmul(x, w) - y).pow(2).mean();
      w.mutable_grad() = torch::autograd::grad({loss}, {w})[0];
      if (die_early && ranks.rank == 1 && step == 2) ::_exit(9);
      if (group) group->average_gradients({w});
      at::NoGradGuard no_grad;
      w -= w.grad() * 0.1;
    }
    if (group) {  // the scalar reductions the trainer logs global statistics with
      const double r = ranks.rank, w = ranks.world_size;
      const auto sums = group->sum({1.0 + r});
      const auto maxes = group->max({r, -r});
      if (sums[0] != w * (w + 1) / 2 || maxes[0] != w - 1 || maxes[1] != 0) {
        std::fprintf(stderr, "dist_worker: rank %d: sum %g, max %g, -min %g\n", ranks.rank, sums[0], maxes[0], maxes[1]);
        return 5;
      }
    }
    if (ranks.rank == 0) {
      at::Tensor flat = w.detach().reshape({-1}).contiguous();
      for (int i = 0; i < flat.numel(); ++i) std::printf("%.17g\n", flat.data_ptr<double>()[i]);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dist_worker: %s\n", e.what());
    return 4;
  }
}
