// Device, autocast and TF32 settings on this machine: a CPU-only build refuses
// CUDA before training; bf16 autocast runs on the CPU and changes the numbers;
// TF32 changes nothing on the CPU; the trainer flushes subnormals to zero.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "flowbp/compute.h"
#include "flowbp/compute_threads.h"
#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

const std::vector<std::string> kTiny = {"train.steps=4", "train.batch=8", "eval.samples_per_condition=16",
                                        "train.eval_every=2"};

std::vector<std::string> with(std::vector<std::string> sets, const std::string& extra) {
  sets.push_back(extra);
  return sets;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("a CPU-only build refuses --device cuda before training") {
  if (built_with_cuda()) {
    MESSAGE("this build has CUDA: nothing to refuse");
    return;
  }
  const std::string root = temp_dir("device");
  CHECK_THROWS_WITH_AS(train(experiment("refl", with(kTiny, "train.device=\"cuda\"")), root + "/api"),
                       doctest::Contains("train.device: 'cuda': this flowbp was built without CUDA"), ConfigError);
  CHECK_FALSE(exists(root + "/api"));

  const char* exe = std::getenv("FLOWBP_EXE");
  REQUIRE(exe);
  const std::string cmd = std::string("FLOWBP_CACHE_DIR='") + cache_dir() + "' '" + exe + "' train " +
                          FLOWBP_SOURCE_ROOT + "/experiments/toy.toml --device cuda:0 --quiet --out " + root +
                          "/cli 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  std::string output;
  char buf[1024];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  const int status = ::pclose(pipe);
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(output.find("train.device: 'cuda:0': this flowbp was built without CUDA") != std::string::npos);
  CHECK(output.find("docs/CUDA.md") != std::string::npos);
  CHECK_FALSE(exists(root + "/cli"));
}

TEST_CASE("bf16 autocast trains on the CPU with bf16 numbers; TF32 changes nothing on the CPU") {
  const std::string root = temp_dir("autocast");
  REQUIRE(train(experiment("flowbp-sparse", kTiny), root + "/fp32").outcome == RunOutcome::Done);
  REQUIRE(train(experiment("flowbp-sparse", with(kTiny, "train.autocast=\"bf16\"")), root + "/bf16").outcome ==
          RunOutcome::Done);
  REQUIRE(train(experiment("flowbp-sparse", with(kTiny, "train.tf32=true")), root + "/tf32").outcome ==
          RunOutcome::Done);
  const auto fp32 = column(root + "/fp32/log.h5", "steps", "reward_mean");
  const auto bf16 = column(root + "/bf16/log.h5", "steps", "reward_mean");
  REQUIRE(fp32.size() == bf16.size());
  double largest = 0;
  for (std::size_t i = 0; i < fp32.size(); ++i) {
    CHECK(std::isfinite(bf16[i]));
    largest = std::max(largest, std::fabs(fp32[i] - bf16[i]));
  }
  MESSAGE("largest |reward_mean(bf16) - reward_mean(fp32)| over " << fp32.size() << " steps: " << largest);
  CHECK(largest > 0);     // autocast did run the forwards in bf16
  CHECK(largest < 0.05);  // and they are still the same model's
  CHECK(table_difference(root + "/fp32/log.h5", root + "/tf32/log.h5", "steps") == "");
}

TEST_CASE("the trainer runs with flush-to-zero (subnormal gradients would slow its GEMMs down)") {
  set_flush_denormal(false);
  REQUIRE_FALSE(flush_denormal_active());
  const std::string root = temp_dir("ftz");
  REQUIRE(train(experiment("refl", kTiny), root + "/run").outcome == RunOutcome::Done);
  CHECK(flush_denormal_active());
}
