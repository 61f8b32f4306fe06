#!/bin/sh
# `flowbp report` through the real executable: help, a report on real logs whose
# stdout ends with the figure paths, and a bad option.
# usage: test_cli_report.sh FLOWBP PYTHON TESTS_SOURCE_DIR WORK_DIR
set -eu
flowbp=$1 python=$2 src=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$flowbp" report --help > "$work/help.txt" || fail "--help exited $?"
grep -q -- "--metric" "$work/help.txt" || fail "--help does not list --metric"

"$python" "$src/make_logs.py" "$work/logs"
"$flowbp" report "$work/logs/main" > "$work/out.txt" || fail "report exited $?"
[ -f "$work/logs/main/report/report.md" ] || fail "no report.md in the default --out"
[ -f "$work/logs/main/report/tables/main.csv" ] || fail "no tables/main.csv"
last=$(tail -n 1 "$work/out.txt" | tr -d ' ')
case "$last" in *.png) ;; *) fail "stdout does not end with a figure path: $last" ;; esac
[ -s "$last" ] || fail "figure $last missing"
grep -q "schema_version 99" "$work/out.txt" || fail "schema 99 file not reported"

# A log another process holds open for writing (and locked) is still read: reported as running.
"$python" -c "
import h5py, sys, time
f = h5py.File(sys.argv[1], 'r+')
open(sys.argv[2], 'w').close()
time.sleep(60)
" "$work/logs/main/running/log.h5" "$work/holding" &
holder=$!
i=0
while [ ! -f "$work/holding" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$flowbp" report "$work/logs/main" --no-figures --out "$work/live" > "$work/live.txt" || { kill $holder; fail "report on a live file exited $?"; }
kill $holder
grep -q "| running | in progress: 40/100 steps" "$work/live.txt" || fail "a file held open by a writer is not reported as running"

set +e
"$flowbp" report "$work/logs/main" --metric rewrd --no-figures 2> "$work/err.txt"
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad --metric exited $rc, want 2"
grep -q "did you mean 'reward'" "$work/err.txt" || fail "no did-you-mean for --metric"
echo "cli report: OK"
