// PLACEHOLDER during development: the owner of this folder replaces it.
#include <cstdio>
#include "commands.h"
namespace flowbp::cli {
int train(const Args&) { std::fprintf(stderr, "flowbp train: not built yet\n"); return 2; }
}
