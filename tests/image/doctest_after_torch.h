// torch/nn headers pull in glog, whose CHECK macros abort the process and shadow
// doctest's. Include this after every torch header: glog's spellings go, doctest's come.
#pragma once
#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#include <doctest.h>
