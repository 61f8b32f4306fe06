// /samples of a run log (docs/LOG_FORMAT.md): the evaluation's sample grids as 8-bit
// images, one row per evaluation, beside /eval. Internal to the run-log library.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowbp/run_log.h"
#include "run_log_hdf5.h"

namespace flowbp {

struct SampleTable {
  SampleGridSpec spec;
  h5::Id group, images, step, is_base;
  std::int64_t rows = 0;
  bool present() const { return group.valid(); }
};

void create_samples(hid_t file, const SampleGridSpec& spec, SampleTable& table, const std::string& path);
// Opens /samples when the log has it (else leaves the table absent) and keeps its
// first min(keep, complete rows) rows.
void reopen_samples(hid_t file, std::int64_t keep, SampleTable& table, const std::string& path);
void append_sample_row(SampleTable& table, std::int64_t step, bool is_base, const std::vector<std::uint8_t>& pixels,
                       const std::string& path);
// Closes every identifier; the first failure's description, or "".
std::string close_samples(SampleTable& table);

}  // namespace flowbp
