// What `flowbp sweep --dry-run` and `--status` print.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "flowbp/sweep.h"
#include "flowbp/sweep_shard.h"

namespace flowbp {

// One line per run: id, state in out_dir ("new" when absent), name, the values that vary.
void print_run_list(const SweepSpec& spec, const std::vector<SweepRun>& all_runs,
                    const std::vector<SweepRun>& my_runs, const Shard& shard, const std::string& out_dir,
                    std::ostream& out);

// The merged index of out_dir (every shard), with counts; returns 0 when every run of
// the sweep is done, 3 when some failed, 1 otherwise.
int print_status(const std::vector<SweepRun>& all_runs, const std::string& out_dir, std::ostream& out);

}  // namespace flowbp
