// Checkpoint and resume: an interrupted run continued with --resume logs the
// same numbers as one that never stopped.
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "flowbp/checkpoint.h"
#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("a resumed run reproduces the uninterrupted run") {
  const std::string root = temp_dir("resume");
  for (const std::string method : {"flowbp-lagrange", "draft-lv"}) {
    CAPTURE(method);
    const Experiment exp = experiment(method, {"train.steps=20", "train.batch=16", "eval.samples_per_condition=32",
                                               "train.eval_every=4", "train.checkpoint_every=5"});
    const std::string whole = root + "/" + method + "-whole", cut = root + "/" + method + "-cut";
    REQUIRE(train(exp, whole).outcome == RunOutcome::Done);

    // Stopped after step 13: the last checkpoint is step 10, rows 11–13 and the
    // step-12 evaluation were logged after it and must be replaced, not duplicated.
    const TrainResult stopped = train(exp, cut, 13);
    REQUIRE(stopped.outcome == RunOutcome::Stopped);
    CHECK(read_run_log_summary(cut + "/log.h5").state == "running");
    CHECK(column(cut + "/log.h5", "steps", "step").size() == 13);

    const TrainResult resumed = train(exp, cut, -1, true);
    REQUIRE(resumed.outcome == RunOutcome::Done);
    CHECK(resumed.resumed_from == 10);
    CHECK(column(cut + "/log.h5", "steps", "step").size() == 20);
    CHECK(table_difference(whole + "/log.h5", cut + "/log.h5", "steps") == "");
    CHECK(table_difference(whole + "/log.h5", cut + "/log.h5", "eval") == "");

    // Resuming a finished run changes nothing.
    const std::string before = read_bytes(cut + "/log.h5");
    CHECK(train(exp, cut, -1, true).outcome == RunOutcome::AlreadyDone);
    CHECK(read_bytes(cut + "/log.h5") == before);
  }
}

TEST_CASE("a run directory is not overwritten, and resume refuses another configuration") {
  const std::string dir = temp_dir("guard") + "/run";
  const std::vector<std::string> sets = {"train.steps=3", "train.batch=8", "eval.samples_per_condition=8"};
  REQUIRE(train(experiment("refl", sets), dir, 2).outcome == RunOutcome::Stopped);
  CHECK_THROWS_WITH_AS(train(experiment("refl", sets), dir), doctest::Contains("--resume"), ConfigError);
  std::vector<std::string> other = sets;
  other.push_back("train.lr=5e-4");
  CHECK_THROWS_WITH_AS(train(experiment("refl", other), dir, -1, true), doctest::Contains("another configuration"),
                       ConfigError);
  // With no checkpoint yet (checkpoint_every = 25 > steps), resume starts over and finishes.
  CHECK(train(experiment("refl", sets), dir, -1, true).outcome == RunOutcome::Done);
  CHECK(column(dir + "/log.h5", "steps", "step") == std::vector<double>{1, 2, 3});
}

TEST_CASE("a damaged checkpoint is refused with its path") {
  const std::string dir = temp_dir("damaged") + "/run";
  const Experiment exp = experiment("refl", {"train.steps=6", "train.batch=8", "eval.samples_per_condition=8",
                                             "train.checkpoint_every=2"});
  REQUIRE(train(exp, dir, 5).outcome == RunOutcome::Stopped);
  {
    std::fstream f(dir + "/checkpoint.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-20, std::ios::end);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH_AS(train(exp, dir, -1, true), doctest::Contains("checkpoint.bin: checkpoint checksum mismatch"),
                       std::runtime_error);
}
