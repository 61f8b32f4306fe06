// Invariant 7: the autograd memory a surrogate needs, measured with the counting CPU
// allocator, stays flat in N at fixed K for every surrogate method and grows linearly
// for full backprop — for the classic engine from just before build_surrogate, and
// for the trainer's engine (the rollout keeps the forwards the surrogate reuses) from
// just before the rollout, less the rollout's own latents (2N of them, by design).
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

// The trainer's engine: plan, then the rollout with its RolloutReuse, measured from
// before the rollout; the rollout's latents are subtracted (StepRecord does the same).
std::int64_t reuse_peak(const std::string& name, const std::map<std::string, SettingValue>& given, int steps,
                        bool reuse = true) {
  const plugtest::TinyModel model(kDim, kHidden, 11);
  const Schedule schedule = Schedule::make(steps);
  const at::Tensor noise = plugtest::gaussian({kBatch, kDim}, 12);
  const Plan plan = plugtest::draw_plan(name, given, schedule, 4);
  const std::int64_t baseline = memory::current_bytes();
  memory::reset_peak();
  std::int64_t cache = 0;
  {
    const Rollout rollout =
        cached_rollout(model.velocity(), noise, schedule, reuse ? rollout_reuse(plan, schedule) : RolloutReuse{});
    cache = rollout.cache_bytes();
    const SurrogateOutput out = build_surrogate(model.velocity(), rollout, plan, plugtest::noise_source());
    const at::Tensor loss = plugtest::loss_of(plan, out, out.reward_inputs);
    auto grads = torch::autograd::grad({loss}, model.parameters(), {}, false, false, true);
  }
  return memory::peak_bytes() - baseline - cache;
}

// Peak bytes of one no-gradient forward (its transient activations and output).
std::int64_t nograd_forward_peak() {
  const plugtest::TinyModel model(kDim, kHidden, 11);
  const at::Tensor x = plugtest::gaussian({kBatch, kDim}, 13);
  const std::int64_t baseline = memory::current_bytes();
  memory::reset_peak();
  {
    at::NoGradGuard no_grad;
    const at::Tensor v = model(x, 0.5);
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

// With reuse the kept graphs exist while the rest of the rollout runs, so its peak can
// hold one more no-gradient forward's activations than the classic engine's: whether it
// does depends on where the plan's last reused step lies, not on N. Flat therefore means
// within 5% or that one forward, and never growing with N.
TEST_CASE("invariant 7 with rollout reuse, measured from before the rollout: flat for surrogates, linear for full-bp") {
  memory::install_counting_allocator();
  REQUIRE(memory::counting_installed());
  const std::int64_t forward = nograd_forward_peak();
  MESSAGE("one no-grad forward: " << forward << " bytes");
  CHECK(forward > 2 * kBatch * kHidden * 8 - 1);
  const std::map<std::string, SettingValue> midpoint = {{"leap_sampler", std::string("midpoint")}};
  const std::vector<std::pair<std::string, std::map<std::string, SettingValue>>> surrogates = {
      {"refl", {}},
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
    const std::int64_t at25 = reuse_peak(name, given, 25);
    const std::int64_t at50 = reuse_peak(name, given, 50);
    const std::int64_t at100 = reuse_peak(name, given, 100);
    const std::int64_t classic25 = reuse_peak(name, given, 25, /*reuse=*/false);
    MESSAGE(name << ": peak bytes with reuse N=25 " << at25 << ", N=50 " << at50 << ", N=100 " << at100
                 << "; classic engine N=25 " << classic25);
    CHECK(at25 > 100000);
    const double slack = std::max(0.05 * at25, static_cast<double>(forward));
    CHECK(std::abs(static_cast<double>(at50 - at25)) <= slack);
    CHECK(std::abs(static_cast<double>(at100 - at25)) <= slack);
    // Keeping a forward from the rollout costs at most that one forward over re-forwarding it.
    CHECK(at25 <= classic25 + forward);
  }
  const std::int64_t full25 = reuse_peak("full-bp", {}, 25);
  const std::int64_t full50 = reuse_peak("full-bp", {}, 50);
  const std::int64_t full100 = reuse_peak("full-bp", {}, 100);
  MESSAGE("full-bp with reuse: N=25 " << full25 << ", N=50 " << full50 << ", N=100 " << full100);
  CHECK(static_cast<double>(full50) / full25 == doctest::Approx(2.0).epsilon(0.1));
  CHECK(static_cast<double>(full100) / full50 == doctest::Approx(2.0).epsilon(0.1));
  CHECK(full25 <= reuse_peak("full-bp", {}, 25, false) + forward);
  const std::int64_t trunc25 = reuse_peak("full-bp", {{"K", std::int64_t{5}}}, 25);
  const std::int64_t trunc100 = reuse_peak("full-bp", {{"K", std::int64_t{5}}}, 100);
  CHECK(std::abs(static_cast<double>(trunc100 - trunc25)) <= std::max(0.05 * trunc25, static_cast<double>(forward)));
}
