// The pre-training the kill-and-resume test runs in a child process and in-process.
#pragma once
#include "dit_pretrain.h"

namespace flowbp::testing {

inline DitPretrainConfig worker_recipe() {
  DitPretrainConfig c = dit_pretrain_recipe("tiny");
  c.model.classes = 4;
  c.steps = 240;
  c.batch = 32;
  c.warmup = 20;
  c.checkpoint_every = 40;
  c.seed = 17;
  return c;
}

}  // namespace flowbp::testing
