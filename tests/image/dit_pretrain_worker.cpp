// A pre-training in its own process, for the kill-and-resume test: the tiny DiT on
// the synthetic bars, cached in argv[1]. Prints "resumed_from <step>" and the
// from-cache flag so the test can see what happened.
#include <cstdio>
#include <string>

#include "dit_pretrain.h"
#include "flowbp/compute_threads.h"
#include "image_fixtures.h"
#include "worker_recipe.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dit_pretrain_worker CACHE_DIR\n");
    return 2;
  }
  flowbp::set_compute_threads(1);
  const flowbp::ImageDataset data = flowbp::testing::synthetic_dataset(4, 256, 64);
  flowbp::DitLoadInfo info;
  flowbp::DitPretrainOptions options;
  options.progress = false;
  flowbp::load_or_pretrain_dit(flowbp::testing::worker_recipe(), data, argv[1], &info, options);
  std::printf("from_cache %d\nresumed_from %lld\n", info.from_cache ? 1 : 0, static_cast<long long>(info.resumed_from));
  return 0;
}
