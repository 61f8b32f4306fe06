// Invariant 7: the autograd memory a surrogate needs, measured with the counting CPU
// allocator from just before build_surrogate through the backward pass, stays flat in
// N at fixed K for every surrogate method and grows linearly for full backprop.
#include <torch/csrc/autograd/autograd.h>

#include "fixture.h"
#include "flowbp/memory.h"
#include "flowbp/schedule.h"
// Last: LibTorch pulls in glog, whose CHECK would otherwise replace doctest's.
#include <doctest.h>

using namespace flowbp;

namespace {

// Wide hidden layer, small latent: one re-forward's saved activations (≈ 2·B·H doubles)
// dwarf a latent (B·d), so the measurement sees the graph, not the Euler states.
constexpr int kBatch = 64;
constexpr int kDim = 4;
constexpr int kHidden = 512;

std::int64_t surrogate_peak(const std::string& name, const std::map<std::string, SettingValue>& given, int steps) {
  const plugtest::TinyModel model(kDim, kHidden, 11);
  const Rollout rollout =
      cached_rollout(model.velocity(), plugtest::gaussian({kBatch, kDim}, 12), Schedule::make(steps));
  const Plan plan = plugtest::draw_plan(name, given, rollout.schedule, 4);
  const std::int64_t baseline = memory::current_bytes();
  memory::reset_peak();
  {
    const SurrogateOutput out = build_surrogate(model.velocity(), rollout, plan, plugtest::noise_source());
    const at::Tensor loss = plugtest::loss_of(plan, out, out.reward_inputs);
    auto grads = torch::autograd::grad({loss}, model.parameters(), {}, false, false, true);
  }
  return memory::peak_bytes() - baseline;
}

}  // namespace

TEST_CASE("invariant 7: surrogate memory is flat in N at fixed K; full backprop grows linearly") {
  memory::install_counting_allocator();
  REQUIRE(memory::counting_installed());
  // The first edition's deterministic midpoint: the same leaps at every N.
  const std::map<std::string, SettingValue> midpoint = {{"leap_sampler", std::string("midpoint_v1")}};
  const std::vector<std::pair<std::string, std::map<std::string, SettingValue>>> surrogates = {
      {"refl", {}},
      {"refl", {{"reward_input", std::string("endpoint_reconstruction")}}},
      {"draft-lv", {}},
      {"drtune", {}},
      {"drtune", {{"reward_input", std::string("endpoint_reconstruction")}}},
      {"leapalign", midpoint},
      {"flowbp-sparse", {}},
      {"flowbp-bridge", midpoint},
      {"flowbp-lagrange", midpoint},
  };
  for (const auto& [name, given] : surrogates) {
    CAPTURE(name);
    const std::int64_t at25 = surrogate_peak(name, given, 25);
    const std::int64_t at50 = surrogate_peak(name, given, 50);
    const std::int64_t at100 = surrogate_peak(name, given, 100);
    MESSAGE(name << ": peak autograd bytes N=25 " << at25 << ", N=50 " << at50 << ", N=100 " << at100);
    CHECK(at25 > 100000);  // the re-forwards really were measured
    CHECK(std::abs(static_cast<double>(at50 - at25)) <= 0.05 * at25);
    CHECK(std::abs(static_cast<double>(at100 - at25)) <= 0.05 * at25);
  }

  const std::int64_t full25 = surrogate_peak("full-bp", {}, 25);
  const std::int64_t full50 = surrogate_peak("full-bp", {}, 50);
  const std::int64_t full100 = surrogate_peak("full-bp", {}, 100);
  MESSAGE("full-bp: peak autograd bytes N=25 " << full25 << ", N=50 " << full50 << ", N=100 " << full100);
  CHECK(static_cast<double>(full50) / full25 == doctest::Approx(2.0).epsilon(0.1));
  CHECK(static_cast<double>(full100) / full50 == doctest::Approx(2.0).epsilon(0.1));
  // Truncated backprop (K fixed) is flat again.
  const std::int64_t trunc25 = surrogate_peak("full-bp", {{"K", std::int64_t{5}}}, 25);
  const std::int64_t trunc100 = surrogate_peak("full-bp", {{"K", std::int64_t{5}}}, 100);
  CHECK(std::abs(static_cast<double>(trunc100 - trunc25)) <= 0.05 * trunc25);
  // The sparse surrogate at the same N needs a small fraction of full backprop's memory.
  CHECK(surrogate_peak("flowbp-sparse", {}, 100) < full100 / 5);
}
