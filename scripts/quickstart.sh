#!/usr/bin/env bash
# From a fresh Debian 12 machine to a report: install packages, build, run the
# quick sweep on the built-in toy backbone, and print its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
meson compile -C build
export OMP_WAIT_POLICY=PASSIVE
jobs=$(( $(nproc) < 4 ? $(nproc) : 4 ))
# A rerun continues the sweep that is there (finished runs are kept).
resume=()
[ -f runs/quick/sweep_runs.tsv ] && resume=(--resume)
./build/app/flowbp sweep sweeps/quick.toml --out runs/quick --jobs "$jobs" "${resume[@]}"
./build/app/flowbp report runs/quick
