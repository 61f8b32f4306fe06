// Flush-to-zero: the subnormal gradients of a reward that underflows far from every
// mode become zeros, every other gradient stays; set_compute_threads turns it on.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cfloat>
#include <cstdlib>

#include "flowbp/compute_threads.h"
#include <doctest.h>

using namespace flowbp;

namespace {

// Per-sample reward exp(−‖x − μ‖² / 2w²) of x = input·W: half the rows sit 0.5w from
// their μ (normal values), half 14w away, where the reward (exp(−98) ≈ 3e-43) and its
// gradient (≈ 4e-41) are subnormal; the gradients then meet W's in a GEMM, as in the
// trainer's backward.
struct UnderflowCase {
  at::Tensor input, w;
  UnderflowCase() {
    at::manual_seed(3);
    input = at::randn({64, 16}, at::kFloat);
    w = (at::randn({16, 2}, at::kFloat) * 0.1).requires_grad_();
  }
  // ∂L/∂W, and how many entries of ∂L/∂x were subnormal.
  std::pair<at::Tensor, std::int64_t> gradient() const {
    const double width = 0.1;
    const at::Tensor x = at::matmul(input, w);
    at::Tensor offset = at::zeros({64, 2}, at::kFloat);
    offset.narrow(0, 0, 32).select(1, 0).fill_(14.0 * width);
    offset.narrow(0, 32, 32).select(1, 0).fill_(0.5 * width);
    const at::Tensor mu = x.detach() + offset;
    const at::Tensor reward = at::exp((x - mu).pow(2).sum(1) * (-0.5 / (width * width)));
    const auto grads = torch::autograd::grad({reward.sum()}, {x, w});
    const at::Tensor gx = grads[0].abs();
    const std::int64_t subnormal = ((gx > 0) & (gx < FLT_MIN)).sum().item<std::int64_t>();
    return {grads[1], subnormal};
  }
};

}  // namespace

TEST_CASE("flush-to-zero: subnormal gradients become zeros, every gradient agrees to tolerance") {
  const bool was = flush_denormal_active();
  const UnderflowCase c;
  set_flush_denormal(false);
  CHECK_FALSE(flush_denormal_active());
  const auto [off, subnormal_off] = c.gradient();
  set_flush_denormal(true);
  CHECK(flush_denormal_active());
  const auto [on, subnormal_on] = c.gradient();
  set_flush_denormal(was);
  MESSAGE("subnormal entries of dL/dx: " << subnormal_off << " without flush-to-zero, " << subnormal_on << " with");
  CHECK(subnormal_off > 0);  // the case really produces subnormal gradients
  CHECK(subnormal_on == 0);
  const double scale = off.abs().max().item<double>();
  CHECK(scale > 1e-3);
  CHECK((on - off).abs().max().item<double>() <= 1e-6 * scale);
}

TEST_CASE("set_compute_threads turns flush-to-zero on; FLOWBP_FLUSH_DENORMAL=0 keeps subnormals") {
  const bool was = flush_denormal_active();
  set_flush_denormal(false);
  ::setenv("FLOWBP_FLUSH_DENORMAL", "0", 1);
  set_compute_threads(1);
  CHECK_FALSE(flush_denormal_active());
  ::unsetenv("FLOWBP_FLUSH_DENORMAL");
  set_compute_threads(1);
  CHECK(flush_denormal_active());
  set_flush_denormal(was);
}

