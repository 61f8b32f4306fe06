// One compute thread for every image test: the numbers (and a resumed pre-training's
// bit-for-bit agreement with an uninterrupted one) do not depend on the machine, and
// the tests leave the second core to whoever else builds.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest.h>

#include "flowbp/compute_threads.h"

int main(int argc, char** argv) {
  flowbp::set_compute_threads(1);
  doctest::Context context(argc, argv);
  return context.run();
}
