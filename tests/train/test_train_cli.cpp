// `flowbp train` as users run it: options, exit codes, run directory, progress.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

std::string toy_toml() {
  return std::string(FLOWBP_SOURCE_ROOT) + "/experiments/toy.toml";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const char* kSmall = " --set train.steps=10 --set train.batch=8 --set eval.samples_per_condition=16";

}  // namespace

TEST_CASE("--help lists the options and exits 0; usage errors exit 2") {
  Ran help = flowbp_train("--help");
  CHECK(help.code == 0);
  for (const char* opt : {"--method", "--set", "--out", "--name", "--plugin-dir", "--threads", "--quiet", "--resume"})
    CHECK_MESSAGE(help.output.find(opt) != std::string::npos, opt);
  CHECK(flowbp_train("").code == 2);
  CHECK(flowbp_train(toy_toml() + " --no-such-option").code == 2);
  const Ran typo_option = flowbp_train(toy_toml() + " --metod refl");
  CHECK(typo_option.code == 2);
  CHECK(typo_option.output.find("unknown option --metod (did you mean '--method'?)") != std::string::npos);

  Ran typo = flowbp_train(toy_toml() + " --set train.lerning_rate=1 --out " + temp_dir("cli-typo"));
  CHECK(typo.code == 2);
  CHECK(typo.output.find("did you mean") != std::string::npos);
  Ran method = flowbp_train(toy_toml() + " --method flowbp-lagrang --out " + temp_dir("cli-method"));
  CHECK(method.code == 2);
  CHECK(method.output.find("flowbp-lagrange") != std::string::npos);
  CHECK(help.output.find("--preset") != std::string::npos);
  Ran preset = flowbp_train(toy_toml() + " --method flowbp-bridge --preset authors-sd53 --out " + temp_dir("cli-preset"));
  CHECK(preset.code == 2);
  CHECK(preset.output.find("--preset: method.preset: unknown preset 'authors-sd53' for method 'flowbp-bridge' "
                           "(did you mean 'authors-sd35'?)") != std::string::npos);
}

TEST_CASE("--preset: the preset's values under explicit settings, recorded in config.toml and the log") {
  const std::string out = temp_dir("cli-preset-run");
  Ran run = flowbp_train(toy_toml() + " --method flowbp-bridge --preset authors-sd35 --set method.K=4" + kSmall +
                         " --quiet --name preset --out " + out);
  REQUIRE_MESSAGE(run.code == 0, run.output);
  const std::string config = read_file(out + "/preset/config.toml");
  CHECK(config.find("preset = \"authors-sd35\"\npreset_overridden = \"K\"\n") != std::string::npos);
  CHECK(config.find("\nK = 4\n") != std::string::npos);
  CHECK(config.find("\nbeta = 0.5\n") != std::string::npos);
  // authors-sd35 pools one rho (surrogate scope) with g = 0: rho = 1, no second range.
  int seen = 0;
  for (const auto& column : read_run_log_table(out + "/preset/log.h5", "steps")) {
    if (column.name == "grad_rescale_factor")
      for (double rho : column.values) {
        CHECK(rho == 1.0);
        ++seen;
      }
    if (column.name == "grad_rescale_factor_post")
      for (double rho : column.values) {
        CHECK(std::isnan(rho));
        ++seen;
      }
  }
  CHECK(seen == 20);
}

TEST_CASE("a run: default name, resolved config, log, checkpoint; progress lines; resume of a done run") {
  const std::string out = temp_dir("cli-run");
  Ran run = flowbp_train(toy_toml() + " --method flowbp-lagrange --set method.K=4" + kSmall + " --out " + out);
  REQUIRE_MESSAGE(run.code == 0, run.output);
  const Experiment exp = [&] {
    std::vector<Override> o = {parse_override("method.name=\"flowbp-lagrange\"", "t"),
                               parse_override("method.K=4", "t"), parse_override("train.steps=10", "t"),
                               parse_override("train.batch=8", "t"),
                               parse_override("eval.samples_per_condition=16", "t")};
    return load_experiment(toy_toml(), o, model_catalog(&plugins()));
  }();
  const std::string dir = out + "/flowbp-lagrange-" + config_id(exp);
  CHECK(read_file(dir + "/config.toml") == resolved_toml(exp));
  CHECK(read_run_log_summary(dir + "/log.h5").state == "done");
  CHECK(!read_file(dir + "/checkpoint.bin").empty());
  // Not a terminal: one plain line per ~10%, never a carriage return.
  CHECK(run.output.find('\r') == std::string::npos);
  std::size_t lines = 0;
  for (std::size_t p = run.output.find("ETA"); p != std::string::npos; p = run.output.find("ETA", p + 1)) ++lines;
  CHECK(lines >= 5);
  CHECK(lines <= 11);

  const std::string log_before = read_file(dir + "/log.h5");
  Ran again = flowbp_train(toy_toml() + " --method flowbp-lagrange --set method.K=4" + kSmall + " --out " + out);
  CHECK(again.code == 2);
  CHECK(again.output.find("--resume") != std::string::npos);
  Ran resumed = flowbp_train(toy_toml() + " --method flowbp-lagrange --set method.K=4" + kSmall + " --out " + out +
                       " --resume --quiet");
  CHECK(resumed.code == 0);
  CHECK(read_file(dir + "/log.h5") == log_before);
}

TEST_CASE("an interrupted run resumed from the command line equals an uninterrupted one; NaN exits 3") {
  const std::string out = temp_dir("cli-resume");
  const std::string common = toy_toml() + " --method leapalign" + kSmall +
                             " --set train.checkpoint_every=3 --set train.eval_every=5 --quiet --out " + out;
  REQUIRE(flowbp_train(common + " --name whole").code == 0);
  REQUIRE(flowbp_train(common + " --name cut --stop-after-step 7").code == 0);
  CHECK(read_run_log_summary(out + "/cut/log.h5").state == "running");
  REQUIRE(flowbp_train(common + " --name cut --resume").code == 0);
  CHECK(table_difference(out + "/whole/log.h5", out + "/cut/log.h5", "steps") == "");
  CHECK(table_difference(out + "/whole/log.h5", out + "/cut/log.h5", "eval") == "");

  Ran nan = flowbp_train(common + " --name diverge --set train.lr=1e30");
  CHECK(nan.code == 3);
  CHECK(nan.output.find("non-finite") != std::string::npos);
  CHECK(read_run_log_summary(out + "/diverge/log.h5").state == "failed");
}

TEST_CASE("a run killed with SIGKILL mid-way continues with --resume to the uninterrupted numbers") {
  const std::string out = temp_dir("cli-kill");
  const std::string args = toy_toml() +
                           " --method flowbp-bridge --set train.steps=400 --set train.batch=32"
                           " --set eval.samples_per_condition=16 --set train.eval_every=100"
                           " --set train.checkpoint_every=20 --quiet --out " + out;
  ::setenv("FLOWBP_CACHE_DIR", cache_dir().c_str(), 1);
  const std::string cmd = "exec '" + std::string(std::getenv("FLOWBP_EXE")) + "' train " + args +
                          " --name killed >/dev/null 2>&1";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Kill it once some checkpoints and rows past them exist.
  const std::string log = out + "/killed/log.h5";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::int64_t rows = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      rows = read_run_log_summary(log).steps_done;
    } catch (const std::exception&) {
      rows = 0;  // not created yet
    }
    if (rows >= 50) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  const auto killed = read_run_log_summary(log);
  MESSAGE("killed after " << killed.steps_done << " logged steps");
  REQUIRE(killed.state == "running");
  REQUIRE(killed.steps_done < 400);

  REQUIRE(flowbp_train(args + " --name killed --resume").code == 0);
  REQUIRE(flowbp_train(args + " --name whole").code == 0);
  CHECK(read_run_log_summary(log).state == "done");
  CHECK(table_difference(out + "/whole/log.h5", log, "steps") == "");
  CHECK(table_difference(out + "/whole/log.h5", log, "eval") == "");
}
