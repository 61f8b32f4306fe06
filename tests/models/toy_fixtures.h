// Settings the toy tests share: the documented defaults, spelled out so a test
// says exactly what it runs.
#pragma once
#include <ATen/ATen.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "mode_preference.h"
#include "temp_dir.h"
#include "toy_backbone.h"

namespace flowbp::testing {

// The documented defaults of backbone kind "toy-gmm" and reward kind "mode-preference".
inline ToyConfig default_backbone() { return ToyConfig{}; }
inline ModePreferenceConfig default_reward() { return ModePreferenceConfig{}; }

}  // namespace flowbp::testing
