// PLACEHOLDER during development: the owner of this folder replaces it.
#include <cstdio>
#include "commands.h"
namespace flowbp::cli {
int report(const Args&) { std::fprintf(stderr, "flowbp report: not built yet\n"); return 2; }
}
