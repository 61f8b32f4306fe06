// PLACEHOLDER during development: the owner of this folder replaces it.
#include <cstdio>
#include "commands.h"
namespace flowbp::cli {
int sweep(const Args&) { std::fprintf(stderr, "flowbp sweep: not built yet\n"); return 2; }
}
