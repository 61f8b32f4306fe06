#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef FLOWBP_WITH_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "flowbp/distributed.h"

namespace flowbp {

ProcessGroup::~ProcessGroup() = default;

namespace {

class C10dGroup final : public ProcessGroup {
 public:
  C10dGroup(RankInfo ranks, c10::intrusive_ptr<c10d::ProcessGroup> pg, std::string backend, bool cuda)
      : ranks_(std::move(ranks)), pg_(std::move(pg)), backend_(std::move(backend)), cuda_(cuda) {}

  const RankInfo& ranks() const override { return ranks_; }
  std::string backend() const override { return backend_; }

  void average_gradients(const std::vector<at::Tensor>& params) override {
    std::vector<at::Tensor> grads;
    for (const auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad().reshape({-1}));
    }
    // One flattened buffer: one collective per step instead of one per tensor.
    std::vector<at::Tensor> flat = {at::cat(grads)};
    run("gradient all-reduce", [&] { return pg_->allreduce(flat); });
    flat[0].div_(ranks_.world_size);
    std::int64_t offset = 0;
    for (const auto& p : params) {
      const std::int64_t n = p.numel();
      p.mutable_grad().copy_(flat[0].narrow(0, offset, n).view_as(p));
      offset += n;
    }
  }

  void broadcast_from_rank0(const std::vector<at::Tensor>& tensors) override {
    at::NoGradGuard no_grad;
    for (const auto& t : tensors) {
      std::vector<at::Tensor> one = {t.detach()};
      run("broadcast of initial weights", [&] { return pg_->broadcast(one); });
    }
  }

  std::vector<double> sum(const std::vector<double>& values) override {
    return reduce(values, c10d::ReduceOp::SUM);
  }

  std::vector<double> max(const std::vector<double>& values) override {
    return reduce(values, c10d::ReduceOp::MAX);
  }

  void barrier() override {
    run("barrier", [&] { return pg_->barrier(); });
  }

 private:
  std::vector<double> reduce(const std::vector<double>& values, c10d::ReduceOp op) {
    std::vector<at::Tensor> t = {at::tensor(values, at::kDouble)};
    if (cuda_) t[0] = t[0].cuda();
    c10d::AllreduceOptions options;
    options.reduceOp = op;
    run("scalar all-reduce", [&] { return pg_->allreduce(t, options); });
    at::Tensor host = t[0].cpu();
    return {host.data_ptr<double>(), host.data_ptr<double>() + host.numel()};
  }

  template <class Launch>
  void run(const char* what, Launch&& launch) {
    try {
      launch()->wait();
    } catch (const std::exception& e) {
      throw DistributedError("rank " + std::to_string(ranks_.rank) + "/" + std::to_string(ranks_.world_size) +
                             ": " + what + " failed (another rank died or timed out): " + e.what());
    }
  }

  RankInfo ranks_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
  std::string backend_;
  bool cuda_;
};

}  // namespace

std::unique_ptr<ProcessGroup> ProcessGroup::join(const RankInfo& ranks, bool cuda, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(ranks.master_port);
  store_options.isServer = ranks.rank == 0;
  store_options.numWorkers = static_cast<std::size_t>(ranks.world_size);
  store_options.waitWorkers = true;
  store_options.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(ranks.master_addr, store_options);
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(ranks.rank) + ": rendezvous at " + ranks.master_addr + ":" +
                           std::to_string(ranks.master_port) + " failed: " + e.what());
  }
  if (cuda) {
#ifdef FLOWBP_WITH_CUDA
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, ranks.rank, ranks.world_size, options);
    return std::make_unique<C10dGroup>(ranks, pg, "nccl", true);
#else
    throw DistributedError("this flowbp was built without CUDA: NCCL is unavailable (use the CPU device and Gloo)");
#endif
  }
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(ranks.master_addr));
  options->timeout = timeout;
  try {
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, ranks.rank, ranks.world_size, options);
    return std::make_unique<C10dGroup>(ranks, pg, "gloo", false);
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(ranks.rank) + ": joining the Gloo group failed: " + e.what());
  }
}

}  // namespace flowbp
