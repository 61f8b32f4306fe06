// PLACEHOLDER during development: the owner of this folder replaces it.
#include <cstdio>
#include "commands.h"
namespace flowbp::cli {
int bench(const Args&) { std::fprintf(stderr, "flowbp bench: not built yet\n"); return 2; }
}
