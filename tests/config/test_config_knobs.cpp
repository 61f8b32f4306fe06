// The training knobs and the diagnostics section: defaults that keep the previous
// behaviour, resolution of the keys that default to another (eval.guidance,
// sampling.image_seq_len), and the checks across keys.

#include <cmath>

#include "test_config_fixture.h"
#include <doctest.h>

using namespace flowbp;
using config_test::error_of;
using config_test::parse;

TEST_CASE("the knobs default to the previous behaviour") {
  const Experiment e = parse("");
  CHECK(e.train.lr_schedule == "constant");
  CHECK(e.train.warmup_steps == 0);
  CHECK(e.train.lr_min_ratio == 0.0);
  CHECK(e.train.grad_accumulation == 1);
  CHECK(e.train.ema == "warmup");
  CHECK_FALSE(e.sampling.cfg_attached);
  CHECK_FALSE(e.sampling.cfg_grad_compensation);
  CHECK(e.sampling.time_shift.is_static());
  CHECK(e.sampling.shift_for(25) == 1.0);
  CHECK(e.eval.guidance == e.sampling.guidance);
  CHECK_FALSE(e.diagnostics.on());
  CHECK(e.diagnostics.plan_draws == 0);
  const std::string text = resolved_toml(e);
  for (const char* line : {"[diagnostics]", "exact_grad_every = 0", "lr_schedule = \"constant\"", "ema = \"warmup\"",
                           "cfg_negative = \"detached\"", "shift_mode = \"static\"", "grad_accumulation = 1"})
    CHECK(text.find(line) != std::string::npos);
}

TEST_CASE("eval.guidance follows sampling.guidance unless given, and the resolved text holds its value") {
  const Experiment follows = parse("[sampling]\nguidance = 3.5\n");
  CHECK(follows.eval.guidance == 3.5);
  CHECK(resolved_toml(follows).find("[eval]") != std::string::npos);
  const Experiment own = parse("[sampling]\nguidance = 3.5\n[eval]\nguidance = 1.0\n");
  CHECK(own.eval.guidance == 1.0);
  CHECK(own.sampling.guidance == 3.5);
  // The written value loads back to the same run.
  const Experiment back = parse(resolved_toml(follows));
  CHECK(config_id(back) == config_id(follows));
  // Giving the value sampling.guidance resolves to is the same configuration.
  CHECK(config_id(parse("[sampling]\nguidance = 3.5\n[eval]\nguidance = 3.5\n")) == config_id(follows));
  CHECK(error_of("[eval]\nguidance = -0.5\n") ==
        "exp.toml:2:1: eval.guidance: -0.5 is out of range: expected a real in [0, 1000], or -1 for sampling.guidance");
}

TEST_CASE("a dynamic shift needs the image's token count, and only one source of the shift") {
  // A shifted grid crowds the late steps: the default P = 3 Lagrange rule has a negative
  // weight there from s ~ 1.5 on and is refused, so another method resolves these.
  const Experiment flux1 =
      parse("[sampling]\nshift_mode = \"dynamic\"\nimage_seq_len = 1024\n[method]\nname = \"refl\"\n");
  CHECK(flux1.sampling.time_shift.mu(25) == doctest::Approx(0.63));
  CHECK(flux1.sampling.shift_for(25) == doctest::Approx(std::exp(0.63)));
  const Experiment flux2 =
      parse("[sampling]\nshift_mode = \"empirical\"\nimage_seq_len = 1024\n[method]\nname = \"refl\"\n");
  CHECK(flux2.sampling.shift_for(25) == doctest::Approx(std::exp(1.880616)).epsilon(1e-6));
  CHECK(flux2.sampling.shift_for(50) != flux2.sampling.shift_for(25));
  CHECK(error_of("[sampling]\nshift_mode = \"dynamic\"\n") ==
        "exp.toml:2:1: sampling.image_seq_len: sampling.shift_mode = \"dynamic\" needs the image's token count: "
        "backbone.kind = \"toy-gmm\" reports none, so set sampling.image_seq_len (1024 is a 512×512 image in FLUX's "
        "16-pixel tokens)");
  CHECK(error_of("[sampling]\nshift_mode = \"dynamic\"\nimage_seq_len = 1024\nshift = 3.0\n")
            .find("exp.toml:4:1: sampling.shift: 3.0 and sampling.shift_mode = \"dynamic\" both set the schedule's "
                  "shift") == 0);
  CHECK(error_of("[sampling]\nshift_mode = \"dynamic\"\nimage_seq_len = 1024\nmax_seq_len = 256\n")
            .find("sampling.max_seq_len: 256 equals sampling.base_seq_len") != std::string::npos);
  CHECK(error_of("[sampling]\nshift_mode = \"flux\"\n")
            .find("'flux' is not one of {static, dynamic, empirical}") != std::string::npos);
}

TEST_CASE("the diagnostics' keys are checked against each other and the batch") {
  const Experiment on = parse("[diagnostics]\nexact_grad_every = 5\nexact_grad_batch = 4\nplan_draws = 3\n");
  CHECK(on.diagnostics.on());
  CHECK(on.diagnostics.at(1));
  CHECK_FALSE(on.diagnostics.at(5));
  CHECK(on.diagnostics.at(6));
  CHECK(on.diagnostics.at(11));
  CHECK(error_of("[train]\nbatch = 4\n[diagnostics]\nexact_grad_every = 1\nexact_grad_batch = 8\n") ==
        "exp.toml:5:1: diagnostics.exact_grad_batch: 8 must be <= train.batch = 4 (the sub-batch is the first "
        "samples of the step's batch)");
  // Off, the sub-batch is not checked (its default may exceed a small batch).
  CHECK_NOTHROW(parse("[train]\nbatch = 4\n"));
  CHECK(error_of("[diagnostics]\nplan_draws = 4\n") ==
        "exp.toml:2:1: diagnostics.plan_draws: 4 plans are drawn on diagnostic steps only: set "
        "diagnostics.exact_grad_every > 0 too");
  CHECK(error_of("[diagnostic]\nplan_draws = 4\n").find("unknown section (did you mean 'diagnostics'?)") !=
        std::string::npos);
}

TEST_CASE("the learning-rate schedule, accumulation, EMA and CFG keys reach the typed sections") {
  const Experiment e = parse(
      "[train]\nlr_schedule = \"cosine\"\nwarmup_steps = 10\nlr_min_ratio = 0.1\ngrad_accumulation = 4\n"
      "ema = \"fixed\"\n[sampling]\nguidance = 4.0\ncfg_negative = \"attached\"\ncfg_grad_compensation = true\n");
  CHECK(e.train.lr_schedule == "cosine");
  CHECK(e.train.warmup_steps == 10);
  CHECK(e.train.lr_min_ratio == 0.1);
  CHECK(e.train.grad_accumulation == 4);
  CHECK(e.train.ema == "fixed");
  CHECK(e.sampling.cfg_attached);
  CHECK(e.sampling.cfg_grad_compensation);
  CHECK(error_of("[train]\nlr_schedule = \"cosin\"\n").find("(did you mean 'cosine'?)") != std::string::npos);
  CHECK(error_of("[train]\ngrad_accumulation = 0\n") ==
        "exp.toml:2:1: train.grad_accumulation: 0 is out of range: expected integer in [1, 65536]");
  CHECK(error_of("[train]\ngradient_accumulation_steps = 2\n") ==
        "exp.toml:2:1: train.gradient_accumulation_steps: unknown key (did you mean 'grad_accumulation'?)");
}
