// Settings the toy tests share: the documented defaults, spelled out so a test
// says exactly what it runs.
#pragma once
#include <ATen/ATen.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "flowbp/experiment.h"

namespace flowbp::testing {

inline BackboneConfig default_backbone() {
  BackboneConfig c;
  c.kind = "toy-gmm";
  c.dim = 2;
  c.classes = 4;
  c.modes_per_class = 4;
  c.mode_std = 0.15;
  c.hidden = 128;
  c.layers = 3;
  c.time_embed = 32;
  c.pretrain_steps = 3000;
  c.pretrain_batch = 256;
  c.pretrain_lr = 2e-3;
  c.p_uncond = 0.1;
  c.t_sampling = "uniform";
  return c;
}

inline RewardConfig default_reward() {
  RewardConfig r;
  r.kind = "mode-preference";
  r.tau = 0.9;
  r.loss_scale = 1.0;
  r.width = 0.3;
  r.preferred_fraction = 0.5;
  return r;
}

// A fresh directory under $TMPDIR (or /tmp), removed by the caller if it wants.
inline std::string temp_dir(const std::string& stem) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/flowbp-" + stem + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

}  // namespace flowbp::testing
