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

set +e
"$flowbp" report "$work/logs/main" --metric rewrd --no-figures 2> "$work/err.txt"
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad --metric exited $rc, want 2"
grep -q "did you mean 'reward'" "$work/err.txt" || fail "no did-you-mean for --metric"
echo "cli report: OK"
