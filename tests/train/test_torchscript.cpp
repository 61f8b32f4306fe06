// Bring-your-own backbone: TorchScript velocity and reward modules written by
// Debian's python3-torch (test_torchscript_models.py), trained through `flowbp
// train`, checkpointed and resumed, and refused with clear errors when broken.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "train_fixtures.h"
// last: see the header
#include "doctest_after_torch.h"

using namespace flowbp;
using namespace flowbp::testing;

namespace {

// The models, written once per test process.
const std::string& model_dir() {
  static const std::string dir = [] {
    const char* python = std::getenv("FLOWBP_PYTHON");
    const char* script = std::getenv("FLOWBP_TS_MODELS_SCRIPT");
    if (!python || !script) throw std::runtime_error("FLOWBP_PYTHON and FLOWBP_TS_MODELS_SCRIPT must be set");
    const std::string d = temp_dir("torchscript");
    const std::string cmd = std::string("'") + python + "' '" + script + "' '" + d + "'";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("writing the models failed: " + cmd);
    return d;
  }();
  return dir;
}

// An experiment file next to the models naming them by relative path.
std::string experiment_toml(const std::string& velocity = "velocity.pt", const std::string& reward = "reward.pt",
                            const std::string& extra = "") {
  return "[backbone]\nkind = \"torchscript\"\nvelocity_model = \"" + velocity +
         "\"\nlatent_shape = [2, 3]\nconditions = 3\nnull_condition = 3\n\n[reward]\nkind = \"torchscript\"\nmodel = \"" +
         reward + "\"\n\n[sampling]\nsteps = 8\nguidance = 1.5\n\n"
         "[train]\nsteps = 40\nbatch = 16\nlr = 3e-3\neval_every = 20\ncheckpoint_every = 10\n\n"
         "[eval]\nsamples_per_condition = 16\n" + extra;
}

std::string write_experiment(const std::string& name, const std::string& text) {
  const std::string path = model_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

Experiment scripted(const std::string& method, const std::vector<std::string>& sets,
                    const std::string& velocity = "velocity.pt", const std::string& reward = "reward.pt") {
  std::vector<Override> overrides = {parse_override("method.name=\"" + method + "\"", "test")};
  for (const auto& s : sets) overrides.push_back(parse_override(s, "test"));
  return parse_experiment(experiment_toml(velocity, reward), model_dir() + "/exp.toml", overrides, model_catalog(&plugins()));
}

int run_cli(const std::string& args, std::string& output) {
  const char* exe = std::getenv("FLOWBP_EXE");
  REQUIRE(exe);
  const std::string cmd = std::string("'") + exe + "' train " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("flowbp train trains scripted models with two methods; the log holds the reward metrics") {
  const std::string config = write_experiment("exp.toml", experiment_toml());
  const std::string out = temp_dir("torchscript-runs");
  for (const std::string method : {"leapalign", "flowbp-sparse"}) {
    CAPTURE(method);
    std::string output;
    const int code = run_cli(config + " --method " + method + " --out " + out + " --name " + method + " --quiet", output);
    INFO(output);
    REQUIRE(code == 0);
    const std::string log = out + "/" + method + "/log.h5";
    CHECK(read_run_log_summary(log).state == "done");
    std::vector<std::string> names;
    for (const auto& c : read_run_log_table(log, "eval")) names.push_back(c.name);
    // Log-density and mode coverage exist only for the toy.
    CHECK(names == std::vector<std::string>{"step", "is_base", "reward", "reward_std"});
    const auto reward = column(log, "eval", "reward");
    REQUIRE(reward.size() == 3);
    MESSAGE(method << ": eval reward " << reward[0] << " -> " << reward[1] << " -> " << reward[2]);
    CHECK(reward[2] > reward[0] + 0.1);
    for (double norm : column(log, "steps", "grad_norm_pre_clip")) CHECK(norm > 0);
    for (const auto& [key, value] : read_run_log_attrs(log, "/config"))
      if (key == "backbone.velocity_model") CHECK(std::get<std::string>(value) == model_dir() + "/velocity.pt");
  }
}

TEST_CASE("a resumed TorchScript run reproduces the uninterrupted one") {
  const std::string root = temp_dir("torchscript-resume");
  const Experiment exp = scripted("draft-lv", {"train.steps=12", "train.checkpoint_every=5", "train.eval_every=4"});
  REQUIRE(train(exp, root + "/whole").outcome == RunOutcome::Done);
  REQUIRE(train(exp, root + "/cut", 8).outcome == RunOutcome::Stopped);
  const TrainResult resumed = train(exp, root + "/cut", -1, true);
  REQUIRE(resumed.outcome == RunOutcome::Done);
  CHECK(resumed.resumed_from == 5);
  CHECK(table_difference(root + "/whole/log.h5", root + "/cut/log.h5", "steps") == "");
  CHECK(table_difference(root + "/whole/log.h5", root + "/cut/log.h5", "eval") == "");
}

TEST_CASE("broken models are refused before training, naming the file, what was expected and what came back") {
  const std::string root = temp_dir("torchscript-bad");
  struct Case {
    std::string velocity, reward, message;
  };
  const std::vector<Case> cases = {
      {"missing.pt", "reward.pt", "backbone.velocity_model: " + model_dir() + "/missing.pt: no such file"},
      {"velocity.pt", "missing.pt", "reward.model: " + model_dir() + "/missing.pt: no such file"},
      {"not_torchscript.pt", "reward.pt",
       "backbone.velocity_model: " + model_dir() + "/not_torchscript.pt: not a TorchScript file"},
      {"velocity_two_inputs.pt", "reward.pt",
       "velocity_two_inputs.pt: expected forward(x: Tensor[B, *latent_shape], t: Tensor[B] float, cond: Tensor[B] "
       "int64) -> Tensor, got forward(__torch__.VelocityTwoInputs self, Tensor x, Tensor t) -> Tensor"},
      {"velocity_wrong_shape.pt", "reward.pt",
       "velocity_wrong_shape.pt: forward(x: Tensor[2, 2, 3], t: Tensor[2] float, cond: Tensor[2] int64) returned a "
       "tensor of shape [2, 6], expected the shape of x [2, 2, 3]"},
      {"velocity.pt", "reward_column.pt",
       "reward_column.pt: forward(x: Tensor[2, 2, 3], cond: Tensor[2] int64) returned a tensor of shape [2, 1], "
       "expected [2]: one reward per sample"},
      {"velocity.pt", "reward_detached.pt", "reward_detached.pt: forward(x: Tensor[2, 2, 3], cond: Tensor[2] int64) "
                                            "is not differentiable in x"},
      // The module's own message, not the interpreter's first line.
      {"velocity_raises.pt", "reward.pt",
       "velocity_raises.pt: forward(x: Tensor[2, 2, 3], t: Tensor[2] float, cond: Tensor[2] int64) failed on the probe "
       "batch: ValueError: this model was trained without condition 2 (raised in the TorchScript module)"},
      // Nothing to fine-tune: refused at the probe, not at step 1.
      {"velocity_frozen.pt", "reward.pt",
       "velocity_frozen.pt: the module has no trainable parameters (requires_grad): there is nothing to fine-tune"},
  };
  int i = 0;
  for (const auto& c : cases) {
    CAPTURE(c.velocity);
    CAPTURE(c.reward);
    const std::string dir = root + "/" + std::to_string(i++);
    CHECK_THROWS_WITH_AS(train(scripted("refl", {"train.steps=2"}, c.velocity, c.reward), dir),
                         doctest::Contains(c.message.c_str()), ConfigError);
    CHECK_FALSE(exists(dir));
  }
  // From the command line: exit 2 and the message, nothing written.
  const std::string config = write_experiment("bad.toml", experiment_toml("velocity_wrong_shape.pt"));
  std::string output;
  CHECK(run_cli(config + " --out " + root + "/cli --quiet", output) == 2);
  CHECK(output.find("returned a tensor of shape [2, 6], expected the shape of x [2, 2, 3]") != std::string::npos);
  CHECK_FALSE(exists(root + "/cli"));
}

TEST_CASE("TorchScript settings are checked with the rest of the configuration") {
  auto error_of = [](const std::string& text) {
    try {
      parse_experiment(text, "exp.toml", {}, model_catalog(&plugins()));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("[backbone]\nkind = \"torchscript\"\nlatent_shape = [2]\n") ==
        "exp.toml:1:1: backbone.velocity_model: backbone.kind = \"torchscript\" needs the path of a TorchScript file "
        "(torch.jit.script(m).save(path))");
  CHECK(error_of("[backbone]\nkind = \"torchscript\"\nvelocity_model = \"v.pt\"\n") ==
        "exp.toml:1:1: backbone.latent_shape: backbone.kind = \"torchscript\" needs the shape of one sample, e.g. "
        "[4, 32, 32]");
  CHECK(error_of("[backbone]\nkind = \"torchscript\"\nvelocity_model = \"v.pt\"\nlatent_shape = [2]\n") ==
        "exp.toml: reward.model: reward.kind = \"torchscript\" needs the path of a TorchScript file "
        "(torch.jit.script(m).save(path))");
  CHECK(error_of("[backbone]\nkind = \"torchscript\"\nvelocity_model = \"v.pt\"\nreward_model = \"r.pt\"\n") ==
        "exp.toml:4:1: backbone.reward_model: not a setting of backbone.kind = \"torchscript\"; it is reward.model "
        "of reward.kind = \"torchscript\"");
  const std::string ok = "[backbone]\nkind = \"torchscript\"\nvelocity_model = \"v.pt\"\n"
                         "latent_shape = [2]\nconditions = 3\n[reward]\nmodel = \"r.pt\"\n";
  CHECK(error_of(ok + "[sampling]\nguidance = 2.0\n") ==
        "exp.toml:9:1: sampling.guidance: guidance 2.0 needs an unconditional branch: set backbone.null_condition to "
        "the model's null id");
  CHECK(error_of(ok + "[eval]\nheld_out_conditions = [3]\n") ==
        "exp.toml:9:1: eval.held_out_conditions: condition 3 does not exist: backbone.kind = \"torchscript\" (3 "
        "conditions) gives conditions 0..2");
  CHECK(error_of("[backbone]\nkind = \"torchscript\"\nlatent_shape = [0]\n") ==
        "exp.toml:3:1: backbone.latent_shape: element 0 is out of range: expected array of integers each >= 1");
  CHECK(error_of("[backbone]\nlatent_shape = [2]\n") ==
        "exp.toml:2:1: backbone.latent_shape: not a setting of backbone.kind = \"toy-gmm\" (it belongs to "
        "\"torchscript\"; `flowbp backbones toy-gmm` lists the settings)");
  const Experiment e = parse_experiment(ok, "/data/exp/exp.toml", {}, model_catalog(&plugins()));
  CHECK(e.backbone.settings.get_string("velocity_model") == "/data/exp/v.pt");
  CHECK(e.reward.kind == "torchscript");
  CHECK(e.reward.settings.get_string("model") == "/data/exp/r.pt");
  CHECK(e.eval.held_out_conditions == std::vector<std::int64_t>{0, 1, 2});
  CHECK(training_conditions(e) == std::vector<std::int64_t>{0, 1, 2});
}
