#include "subnormal_gemm.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <vector>

#include "bench_clock.h"
#include "flowbp/compute_threads.h"
#include "measurements.h"

namespace flowbp::bench {

namespace {

constexpr std::int64_t kRows = 256, kInner = 512, kCols = 512;

double time_gemms(const at::Tensor& a, const at::Tensor& w, int count) {
  const double start = process_cpu_seconds();
  for (int k = 0; k < count; ++k) at::mm(a, w);
  return (process_cpu_seconds() - start) / count;
}

}  // namespace

SubnormalTiming time_subnormal_gemm(int rounds, int gemms_per_round) {
  at::Generator gen = at::detail::createCPUGenerator(5);
  const at::Tensor w = at::randn({kInner, kCols}, gen, at::kFloat);
  const at::Tensor normal = at::randn({kRows, kInner}, gen, at::kFloat);
  // Every 100th row scaled into the subnormal range (FLT_MIN ≈ 1.2e-38).
  at::Tensor subnormal = normal.clone();
  for (std::int64_t r = 0; r < kRows; r += 100) subnormal[r].mul_(1e-39);

  std::vector<double> normal_off, subnormal_off, normal_on, subnormal_on;
  for (int round = 0; round < rounds; ++round) {
    set_flush_denormal(false);
    normal_off.push_back(time_gemms(normal, w, gemms_per_round));
    subnormal_off.push_back(time_gemms(subnormal, w, gemms_per_round));
    set_flush_denormal(true);
    normal_on.push_back(time_gemms(normal, w, gemms_per_round));
    subnormal_on.push_back(time_gemms(subnormal, w, gemms_per_round));
  }
  SubnormalTiming t;
  t.normal_off = median_of(normal_off);
  t.subnormal_off = median_of(subnormal_off);
  t.normal_on = median_of(normal_on);
  t.subnormal_on = median_of(subnormal_on);
  t.flushed_on = at::mm(subnormal.narrow(0, 0, 1), w).abs().max().item<float>() == 0.0f;
  return t;
}

}  // namespace flowbp::bench
