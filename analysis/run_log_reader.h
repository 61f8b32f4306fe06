// Reads one HDF5 run log into a RunRecord without ever throwing or printing:
// a corrupt, truncated, foreign-schema or incomplete file comes back as
// RunState::Unreadable with a message naming the file and the object at fault.
#pragma once
#include <string>

#include "run_record.h"

namespace flowbp::analysis {

constexpr long kSupportedSchemaVersion = 1;

RunRecord read_run_log(const std::string& path);

}  // namespace flowbp::analysis
