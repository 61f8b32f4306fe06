// The DiT behind the VelocityModel interface the trainer, the EMA and checkpoints see.
#pragma once
#include <memory>

#include "dit_model.h"
#include "flowbp/velocity_model.h"

namespace flowbp {

std::shared_ptr<VelocityModel> wrap_dit(DitModel model);
// The DiT inside a model from wrap_dit; throws std::logic_error for another kind.
DitModel& dit_of(VelocityModel& model);

}  // namespace flowbp
