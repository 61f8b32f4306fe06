// `flowbp train` refuses what it cannot do well before it starts, holds its run
// directory against a second process, and recovers from a log whose creation failed.
#include <sys/file.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "flowbp/files.h"
#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

const std::string kToy = std::string(FLOWBP_SOURCE_ROOT) + "/experiments/toy.toml";
const char* kSmall = " --set train.steps=6 --set train.batch=8 --set eval.samples_per_condition=8 --quiet";

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the same key twice on the command line is refused, naming both") {
  const Ran r = flowbp_train(kToy + " --set train.steps=5 --set train.steps=6 --out " + temp_dir("twice"));
  CHECK(r.code == 2);
  CHECK(has(r.output, "--set: train.steps is given twice (--set train.steps=5, then --set train.steps=6); give it once"));
  const Ran m = flowbp_train(kToy + " --method refl --set method.name=leapalign --out " + temp_dir("twice-m"));
  CHECK(m.code == 2);
  CHECK(has(m.output, "method.name is given twice (--method method.name=\"refl\", then --set method.name=leapalign)"));
}

TEST_CASE("resources beyond the machine are refused before anything runs") {
  const std::string out = temp_dir("resources");
  const Ran absurd = flowbp_train(kToy + kSmall + " --set train.threads=100000 --out " + out);
  CHECK(absurd.code == 2);
  CHECK(has(absurd.output, "--set: train.threads: 100000 is out of range: expected integer in [1, 1024]"));
  const Ran threads = flowbp_train(kToy + kSmall + " --set train.threads=1000 --out " + out);
  CHECK(threads.code == 2);
  CHECK(has(threads.output, "train.threads = 1000: this machine offers "));
  CHECK(has(threads.output, "core(s) to this process"));
  const Ran flag = flowbp_train(kToy + kSmall + " --threads 1000 --out " + out);
  CHECK(flag.code == 2);
  CHECK(has(flag.output, "--threads = 1000"));
  const Ran memory = flowbp_train(kToy + " --method refl --set sampling.steps=100000 --set train.batch=1048576 --quiet"
                                  " --out " + out);
  CHECK(memory.code == 2);
  CHECK(has(memory.output, "sampling.steps = 100000 with train.batch = 1048576: the cached rollout alone needs"));
  CHECK(std::system(("test -z \"$(ls -A '" + out + "')\"").c_str()) == 0);  // no run directory was made
  const Ran huge_lr = flowbp_train(kToy + kSmall + " --set train.lr=1e300 --out " + out);
  CHECK(huge_lr.code == 2);
  CHECK(has(huge_lr.output, "--set: train.lr: 1e+300 is out of range: expected real in (0, 3.4e+38]"));
}

TEST_CASE("a pasted file is shown abbreviated, not echoed whole") {
  const std::string big(100000, 'x');  // a command-line argument may hold 128 KiB
  const Ran r = flowbp_train(kToy + kSmall + " --set train.device=" + big + " --out " + temp_dir("big"));
  CHECK(r.code == 2);
  CHECK(has(r.output, "… (100000 characters)"));
  CHECK(r.output.size() < 2000);
}

TEST_CASE("a second process on the same run directory is refused; the holder keeps it") {
  const std::string out = temp_dir("lock");
  REQUIRE(flowbp_train(kToy + kSmall + " --name run --out " + out + " --stop-after-step 3").code == 0);
  // Hold the run's lock as a running trainer would.
  const int fd = ::open((out + "/run/run.lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const Ran busy = flowbp_train(kToy + kSmall + " --name run --out " + out + " --resume");
  CHECK(busy.code == 4);
  CHECK(has(busy.output, out + "/run is being trained by another process"));
  CHECK(read_run_log_summary(out + "/run/log.h5").state == "running");
  ::close(fd);
  const Ran resumed = flowbp_train(kToy + " --set train.steps=6 --set train.batch=8 --set eval.samples_per_condition=8"
                                   " --set train.checkpoint_every=3 --name run2 --out " + out + " --stop-after-step 4 --quiet");
  REQUIRE(resumed.code == 0);
  const Ran rest = flowbp_train(kToy + " --set train.steps=6 --set train.batch=8 --set eval.samples_per_condition=8"
                                " --set train.checkpoint_every=3 --name run2 --out " + out + " --resume");
  CHECK(rest.code == 0);
  // What the resumed process trained, not the whole run: steps 4..6 after the checkpoint at 3.
  CHECK(has(rest.output, "steps 4-6 (3 steps, resumed after step 3)"));
  CHECK(read_run_log_summary(out + "/run2/log.h5").checkpoint_step == 6);
}

TEST_CASE("a log.h5 whose header was never committed is kept aside and the run starts afresh with --resume") {
  const std::string out = temp_dir("stub");
  make_dirs(out + "/run");
  { std::ofstream(out + "/run/log.h5", std::ios::binary) << std::string(800, '\0'); }  // what a full disk left
  const Ran plain = flowbp_train(kToy + kSmall + " --name run --out " + out);
  CHECK(plain.code == 2);
  CHECK(has(plain.output, "holds an unreadable log.h5 (no run-log header"));
  const Ran resumed = flowbp_train(kToy + kSmall + " --name run --out " + out + " --resume");
  CHECK(resumed.code == 0);
  CHECK(read_run_log_summary(out + "/run/log.h5").state == "done");
  CHECK(file_exists(out + "/run/unreadable-1/log.h5"));
}

TEST_CASE("an output or cache folder that is a file is named before anything runs") {
  const std::string dir = temp_dir("file-out");
  { std::ofstream(dir + "/afile") << "x"; }
  const Ran out = flowbp_train(kToy + kSmall + " --out " + dir + "/afile");
  CHECK(out.code == 2);
  CHECK(has(out.output, "--out " + dir + "/afile: exists and is not a directory"));
  const Ran cache = flowbp_train(kToy + kSmall + " --out " + dir + "/runs --cache-dir " + dir + "/afile");
  CHECK(cache.code == 2);
  CHECK(has(cache.output, "--cache-dir " + dir + "/afile: exists and is not a directory"));
  CHECK_FALSE(file_exists(dir + "/runs"));
}
