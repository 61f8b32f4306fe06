// The training knobs (docs/CONFIG.md): the learning-rate schedule, gradient
// accumulation, CFG's attached negative branch and gradient compensation, the EMA
// modes, evaluation's own guidance and the dynamic time shift. Each is pinned against
// what it must equal: a hand computation, separate steps, or the default path.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "flowbp/evaluation.h"
#include "step_fixture.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

const std::vector<std::string> kSmall = {"train.batch=8", "eval.samples_per_condition=8", "eval.steps=8",
                                         "train.checkpoint_every=0"};

std::vector<std::string> with(std::vector<std::string> sets, const std::vector<std::string>& more) {
  sets.insert(sets.end(), more.begin(), more.end());
  return sets;
}

double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }

std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

TEST_CASE("the learning-rate schedules follow transformers' rules, and the lr column is the scheduled value") {
  LrSchedule constant;
  CHECK(constant.factor(1) == 1.0);
  CHECK(constant.factor(1000) == 1.0);
  LrSchedule warm{"constant", 4, 20, 0.0};
  // n = step − 1 steps done: 0, 1/4, 2/4, 3/4, then 1.
  CHECK(warm.factor(1) == 0.0);
  CHECK(warm.factor(2) == 0.25);
  CHECK(warm.factor(4) == 0.75);
  CHECK(warm.factor(5) == 1.0);
  LrSchedule linear{"linear", 2, 12, 0.0};
  CHECK(linear.factor(3) == 1.0);                       // n = W
  CHECK(linear.factor(8) == doctest::Approx(5.0 / 10));  // (T − n)/(T − W) = (12 − 7)/10
  CHECK(linear.factor(12) == doctest::Approx(1.0 / 10));
  LrSchedule floor{"linear", 0, 10, 0.2};
  CHECK(floor.factor(6) == doctest::Approx(0.2 + 0.8 * 0.5));
  CHECK(floor.factor(1000) == doctest::Approx(0.2));    // never below the floor
  LrSchedule cosine{"cosine", 0, 10, 0.0};
  CHECK(cosine.factor(1) == 1.0);
  CHECK(cosine.factor(6) == doctest::Approx(0.5));  // progress 1/2: ½(1 + cos(π/2))
  CHECK(cosine.factor(11) == doctest::Approx(0.0));

  const std::string dir = temp_dir("lr") + "/run";
  const Experiment exp = experiment("refl", with(kSmall, {"train.steps=8", "train.lr=0.01", "train.warmup_steps=3",
                                                          "train.lr_schedule=\"cosine\"", "train.lr_min_ratio=0.1"}));
  REQUIRE(train(exp, dir).outcome == RunOutcome::Done);
  const auto lr = column(dir + "/log.h5", "steps", "lr");
  const LrSchedule s{"cosine", 3, 8, 0.1};
  REQUIRE(lr.size() == 8);
  for (int step = 1; step <= 8; ++step) CHECK(lr[step - 1] == 0.01 * s.factor(step));
  CHECK(lr[0] == 0.0);
}

TEST_CASE("a warm-up step at lr 0 leaves the weights, so the schedule reaches the optimizer") {
  StepRig rig("flowbp-sparse", with(kSmall, {"train.warmup_steps=5", "train.weight_decay=0.01"}));
  const at::Tensor before = StepRig::weights(*rig.state.model);
  rig.step(1);
  CHECK(at::equal(StepRig::weights(*rig.state.model), before));
  rig.step(2);  // lr/5
  CHECK_FALSE(at::equal(StepRig::weights(*rig.state.model), before));
}

TEST_CASE("gradient accumulation averages the micro-batches' gradients, drawn in stream order") {
  // Step 1 of a warm-up trains at lr 0, so the weights stay and two single steps see the
  // same model as one step of two micro-batches; the clip is out of the way.
  for (const std::string method : {"flowbp-lagrange", "draft-lv", "full-bp"}) {
    CAPTURE(method);
    const auto sets = with(kSmall, {"train.warmup_steps=1", "train.max_grad_norm=1e30"});
    StepRig two(method, with(sets, {"train.grad_accumulation=2"}));
    const StepRecord together = two.step(1);
    const at::Tensor g = two.gradient();

    StepRig one(method, sets);
    const StepRecord a = one.step(1);
    const at::Tensor g1 = one.gradient();
    const StepRecord b = one.step(1);
    const at::Tensor g2 = one.gradient();

    CHECK(max_abs(g - (g1 + g2) / 2) <= 1e-6 * max_abs(g));
    CHECK(together.loss == doctest::Approx((a.loss + b.loss) / 2).epsilon(1e-12));
    CHECK(together.reward_mean == doctest::Approx((a.reward_mean + b.reward_mean) / 2).epsilon(1e-12));
    // The plan columns are the first micro-batch's.
    CHECK(together.j == a.j);
    CHECK(together.s == a.s);
    CHECK(together.active == a.active);
    // The streams moved as the two single steps moved them.
    CHECK(two.state.rng.index == one.state.rng.index);
    CHECK(two.state.rng.data == one.state.rng.data);
    CHECK(at::equal(two.state.rng.noise.get_state(), one.state.rng.noise.get_state()));
  }
}

TEST_CASE("CFG gradient compensation divides the gradient by g, never the logged loss") {
  const auto sets = with(kSmall, {"sampling.guidance=3.0", "train.max_grad_norm=1e30"});
  StepRig plain("leapalign", sets);
  StepRig compensated("leapalign", with(sets, {"sampling.cfg_grad_compensation=true"}));
  const StepRecord p = plain.step(1), c = compensated.step(1);
  CHECK(c.loss == p.loss);
  CHECK(c.reward_mean == p.reward_mean);
  CHECK(max_abs(compensated.gradient() - plain.gradient() / 3.0) <= 1e-6 * max_abs(compensated.gradient()));
  // grad_norm is of the gradient the optimizer clips: the compensated one.
  CHECK(c.grad_norm_pre_clip == doctest::Approx(p.grad_norm_pre_clip / 3.0).epsilon(1e-6));
  // At g <= 1 there is no CFG and nothing to compensate.
  StepRig g1("leapalign", with(kSmall, {"train.max_grad_norm=1e30"}));
  StepRig g1c("leapalign", with(kSmall, {"train.max_grad_norm=1e30", "sampling.cfg_grad_compensation=true"}));
  g1.step(1);
  g1c.step(1);
  CHECK(at::equal(g1.gradient(), g1c.gradient()));
}

TEST_CASE("an attached negative branch changes the gradient, not the forward values") {
  const auto sets = with(kSmall, {"sampling.guidance=3.0", "train.max_grad_norm=1e30"});
  for (const std::string method : {"flowbp-lagrange", "refl"}) {
    CAPTURE(method);
    StepRig detached(method, sets);
    StepRig attached(method, with(sets, {"sampling.cfg_negative=\"attached\""}));
    const StepRecord d = detached.step(1), a = attached.step(1);
    CHECK(a.loss == d.loss);
    CHECK(a.reward_mean == d.reward_mean);
    CHECK(same_value(a.r_0_mean, d.r_0_mean));  // the residuals are forward values too (NaN for refl)
    CHECK(max_abs(attached.gradient() - detached.gradient()) > 1e-6 * max_abs(detached.gradient()));
  }
  // Without guidance the unconditional branch is never run.
  StepRig d1("refl", with(kSmall, {"train.max_grad_norm=1e30"}));
  StepRig a1("refl", with(kSmall, {"train.max_grad_norm=1e30", "sampling.cfg_negative=\"attached\""}));
  d1.step(1);
  a1.step(1);
  CHECK(at::equal(d1.gradient(), a1.gradient()));
}

TEST_CASE("EMA: the warm-up rule by default, a fixed decay from the first step on request") {
  for (const std::string mode : {"warmup", "fixed"}) {
    CAPTURE(mode);
    StepRig rig("flowbp-sparse", with(kSmall, {"train.ema=\"" + mode + "\"", "train.ema_decay=0.9"}));
    const at::Tensor ema0 = StepRig::weights(*rig.state.ema);
    rig.step(1);
    const at::Tensor theta1 = StepRig::weights(*rig.state.model), ema1 = StepRig::weights(*rig.state.ema);
    const double d = mode == "fixed" ? 0.9 : ema_decay_at(0.9, 1);  // 0.1 at step 1 under the warm-up
    CHECK(max_abs(ema1 - (ema0 * d + theta1 * (1 - d))) <= 1e-6 * max_abs(ema1));
  }
  CHECK(ema_decay_at(0.995, 1) == doctest::Approx(0.1));
}

TEST_CASE("evaluation samples with eval.guidance, whatever the training guidance") {
  const Experiment base = experiment("refl", kSmall);
  const Experiment split = experiment("refl", with(kSmall, {"sampling.guidance=3.0", "eval.guidance=1.0"}));
  const Experiment both = experiment("refl", with(kSmall, {"sampling.guidance=3.0"}));
  const ModelContext mc{cache_dir(), c10::Device(c10::kCPU), true};
  const Backbone backbone = load_backbone(base.backbone, mc);
  const Reward reward = create_reward(base.reward, backbone, mc);
  const Compute compute = make_compute("cpu", 0, false, false);
  const auto metrics = [&](const Experiment& e) { return EvalSuite(e, backbone, reward, compute).evaluate(*backbone.base); };
  CHECK(metrics(split) == metrics(base));
  CHECK(metrics(both) != metrics(base));  // eval.guidance defaults to sampling.guidance
}

TEST_CASE("the dynamic shift trains on the static warp with s = e^mu") {
  const std::string root = temp_dir("shift");
  TimeShift ts;
  ts.mode = "dynamic";
  ts.image_seq_len = 1024;
  const double s = ts.shift_for(25);
  // Lagrange's quadrature weights depend on the grid; on a shifted one the default P = 3
  // rule has a negative weight near the end, which "reduce" lowers the order for.
  const auto sets = with(kSmall, {"train.steps=3", "method.negative_weights=\"reduce\""});
  REQUIRE(train(experiment("flowbp-lagrange", with(sets, {"sampling.shift_mode=\"dynamic\"",
                                                          "sampling.image_seq_len=1024"})),
                root + "/dynamic")
              .outcome == RunOutcome::Done);
  REQUIRE(train(experiment("flowbp-lagrange", with(sets, {"sampling.shift=" + exact(s)})), root + "/static").outcome ==
          RunOutcome::Done);
  CHECK(table_difference(root + "/dynamic/log.h5", root + "/static/log.h5", "steps") == "");
  CHECK(table_difference(root + "/dynamic/log.h5", root + "/static/log.h5", "eval") == "");
  // And it is a shift: the uniform grid trains otherwise.
  REQUIRE(train(experiment("flowbp-lagrange", sets), root + "/uniform").outcome == RunOutcome::Done);
  CHECK(table_difference(root + "/dynamic/log.h5", root + "/uniform/log.h5", "steps") != "");
}
