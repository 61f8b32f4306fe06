#include "flowbp/version.h"

#ifndef FLOWBP_VERSION
#define FLOWBP_VERSION "unknown"
#endif

namespace flowbp {
const char* version() { return FLOWBP_VERSION; }
}  // namespace flowbp
