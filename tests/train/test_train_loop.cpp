// The training loop on the real toy backbone and the real plugins.
#include <cmath>
#include <string>
#include <vector>

#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

// Short enough for the suite, long enough to see learning: the defaults except
// steps, batch and the evaluation's size.
const std::vector<std::string> kShortRun = {"train.steps=40", "train.batch=32", "eval.samples_per_condition=64",
                                            "train.eval_every=20", "train.checkpoint_every=0"};

}  // namespace

TEST_CASE("every method improves the in-domain eval reward over the base model") {
  const std::string root = temp_dir("improve");
  for (const auto& method : all_methods()) {
    CAPTURE(method);
    const std::string dir = root + "/" + method;
    const TrainResult result = train(experiment(method, kShortRun), dir);
    REQUIRE(result.outcome == RunOutcome::Done);
    const std::string log = dir + "/log.h5";
    const auto reward = column(log, "eval", "reward");
    const auto is_base = column(log, "eval", "is_base");
    const auto steps = column(log, "eval", "step");
    REQUIRE(reward.size() == 3);  // base, step 20, step 40
    CHECK(is_base == std::vector<double>{1, 0, 0});
    CHECK(steps == std::vector<double>{0, 20, 40});
    MESSAGE(method << ": eval reward " << reward[0] << " -> " << reward[1] << " -> " << reward[2] << " in "
                   << result.seconds << " s");
    CHECK(reward[2] > reward[0] + 0.1);

    // The per-step log is complete and consistent.
    const auto summary = read_run_log_summary(log);
    CHECK(summary.state == "done");
    CHECK(summary.steps_done == 40);
    const auto pre = column(log, "steps", "grad_norm_pre_clip"), post = column(log, "steps", "grad_norm_post_clip");
    const auto peak = column(log, "steps", "peak_autograd_bytes"), depth = column(log, "steps", "jacobian_depth");
    REQUIRE(pre.size() == 40);
    for (std::size_t i = 0; i < pre.size(); ++i) {
      CHECK(post[i] <= std::min(pre[i], 1.0) + 1e-6);  // clipped to max_grad_norm = 1
      CHECK(peak[i] > 0);
    }
    const double expected_depth = method == "full-bp" ? 24 : method == "leapalign" || method == "flowbp-bridge" ||
                                                                     method == "flowbp-lagrange"
                                                                 ? 1
                                                                 : 0;
    CHECK(depth[0] == expected_depth);
  }
}

TEST_CASE("same seed, same numbers; another seed, other numbers") {
  const std::string root = temp_dir("determinism");
  // draft-lv draws renoising from the noise stream, lagrange draws indices: both streams covered.
  for (const std::string method : {"flowbp-lagrange", "draft-lv"}) {
    CAPTURE(method);
    std::vector<std::string> sets = {"train.steps=12", "train.batch=16", "eval.samples_per_condition=32",
                                     "train.eval_every=6"};
    const std::string a = root + "/" + method + "-a", b = root + "/" + method + "-b", c = root + "/" + method + "-c";
    REQUIRE(train(experiment(method, sets), a).outcome == RunOutcome::Done);
    REQUIRE(train(experiment(method, sets), b).outcome == RunOutcome::Done);
    CHECK(table_difference(a + "/log.h5", b + "/log.h5", "steps") == "");
    CHECK(table_difference(a + "/log.h5", b + "/log.h5", "eval") == "");
    sets.push_back("train.seed=7");
    REQUIRE(train(experiment(method, sets), c).outcome == RunOutcome::Done);
    CHECK(column(a + "/log.h5", "steps", "loss") != column(c + "/log.h5", "steps", "loss"));
  }
}

TEST_CASE("a diverging run stops as failed with the reason, and its earlier rows stay readable") {
  const std::string dir = temp_dir("diverge") + "/run";
  // AdamW moves every weight by about lr per step: 1e30 overflows float32 in the next forward.
  const TrainResult result = train(
      experiment("flowbp-sparse", {"train.steps=20", "train.batch=8", "eval.samples_per_condition=8", "train.lr=1e30"}),
      dir);
  REQUIRE(result.outcome == RunOutcome::Failed);
  CHECK(result.reason.find("non-finite") != std::string::npos);
  CHECK(result.reason.find("at step 2") != std::string::npos);
  const auto summary = read_run_log_summary(dir + "/log.h5");
  CHECK(summary.state == "failed");
  CHECK(summary.reason == result.reason);
  CHECK(summary.failed_step == 2);
  const auto loss = column(dir + "/log.h5", "steps", "loss");
  REQUIRE(loss.size() == 2);  // step 1 intact, step 2 holds the failure
  CHECK(std::isfinite(loss[0]));
  CHECK(column(dir + "/log.h5", "eval", "is_base") == std::vector<double>{1});
}

TEST_CASE("held-out conditions are not trained on") {
  Experiment exp = experiment("refl", {"eval.held_out_conditions=[0, 1]"});
  CHECK(training_conditions(exp) == std::vector<std::int64_t>{2, 3});
  CHECK(training_conditions(experiment("refl", {})) == std::vector<std::int64_t>{0, 1, 2, 3});
}

TEST_CASE("the logged peak autograd bytes are flat in N for a surrogate and grow for full backprop") {
  const std::string root = temp_dir("memory");
  auto peak = [&](const std::string& method, int n) {
    const std::string dir = root + "/" + method + "-" + std::to_string(n);
    const Experiment exp = experiment(method, {"train.steps=2", "train.batch=64", "eval.samples_per_condition=8",
                                               "sampling.steps=" + std::to_string(n)});
    REQUIRE(train(exp, dir).outcome == RunOutcome::Done);
    return column(dir + "/log.h5", "steps", "peak_autograd_bytes").back();
  };
  const double sparse10 = peak("flowbp-sparse", 10), sparse40 = peak("flowbp-sparse", 40);
  const double full10 = peak("full-bp", 10), full40 = peak("full-bp", 40);
  MESSAGE("peak autograd bytes: flowbp-sparse N=10 " << sparse10 << ", N=40 " << sparse40 << "; full-bp N=10 "
                                                     << full10 << ", N=40 " << full40);
  CHECK(sparse40 == doctest::Approx(sparse10).epsilon(0.1));
  CHECK(full40 > 3 * full10);
}
