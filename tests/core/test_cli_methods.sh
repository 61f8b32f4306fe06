#!/usr/bin/env bash
# `flowbp methods` over a plugin directory: Table 1, one method's settings, JSON, bad input.
set -euo pipefail
flowbp=$1 fixtures=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp "$fixtures/flowbp_method_echo_test.so" "$tmp/"
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(FLOWBP_PLUGIN_PATH= "$flowbp" methods --plugin-dir "$tmp")
grep -q "Table 1" <<<"$out" || fail "no Table 1 heading"
grep -q "| Echo (test) (echo-test)" <<<"$out" || fail "echo-test row missing: $out"
grep -q "posterior mean" <<<"$out" || fail "axes missing"

out=$("$flowbp" methods --plugin-dir "$tmp" echo-test)
grep -q "K : integer = 1  \[1, 64\]" <<<"$out" || fail "settings listing: $out"

out=$("$flowbp" methods --plugin-dir "$tmp" --json)
/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); e=[m for m in d if m["name"]=="echo-test"][0]; assert e["params"][0]["name"]=="K" and e["params"][0]["max"]==64, e' <<<"$out" \
  || fail "json does not parse or lacks echo-test"

set +e
err=$("$flowbp" methods --plugin-dir "$tmp" echo-tst 2>&1); rc=$?
set -e
[ $rc -ne 0 ] || fail "unknown method accepted"
grep -q "did you mean 'echo-test'" <<<"$err" || fail "no suggestion: $err"
set +e
err=$("$flowbp" methods --plugin-dir /nonexistent/dir 2>&1); rc=$?
set -e
[ $rc -ne 0 ] || fail "missing plugin dir accepted"
grep -q "does not exist" <<<"$err" || fail "missing-dir message: $err"
"$flowbp" methods --help | grep -q -- "--plugin-dir" || fail "help"
echo "cli-methods: ok"

# The kind registries: a table, one kind in full, JSON, and an unknown name.
out=$("$flowbp" backbones)
grep -q "toy-gmm" <<<"$out" && grep -q "torchscript" <<<"$out" || fail "backbones table: $out"
out=$("$flowbp" backbones toy-gmm)
grep -q "hidden : integer = 128  \[1, 65536\]" <<<"$out" || fail "backbone settings: $out"
out=$("$flowbp" rewards --json mode-preference)
/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert [k["name"] for k in d]==["mode-preference"]; assert d[0]["backbones"]==["toy-gmm"], d' <<<"$out" \
  || fail "rewards --json: $out"
out=$("$flowbp" methods --json --plugin-dir "$tmp" echo-test)
/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert [m["name"] for m in d]==["echo-test"], d' <<<"$out" \
  || fail "methods NAME --json must print only that method: $out"
if err=$("$flowbp" rewards mode-preferenc 2>&1); then fail "unknown reward kind accepted"; fi
grep -q "did you mean 'mode-preference'" <<<"$err" || fail "unknown reward kind: $err"
echo "kind listings: ok"

# Plugin paths: a file where a folder is meant, a missing FLOWBP_PLUGIN_PATH entry, a
# shared object of the wrong name, and a method defined twice are all said out loud.
if err=$("$flowbp" methods --plugin-dir "$tmp/flowbp_method_echo_test.so" 2>&1); then fail "a file as --plugin-dir accepted"; fi
grep -q "is a file; give the folder that holds flowbp_method_<name>.so files" <<<"$err" || fail "--plugin-dir file: $err"
if err=$(FLOWBP_PLUGIN_PATH=/nonexistent/plugins "$flowbp" methods 2>&1); then fail "missing FLOWBP_PLUGIN_PATH entry accepted"; fi
grep -q "FLOWBP_PLUGIN_PATH names '/nonexistent/plugins', which does not exist" <<<"$err" || fail "FLOWBP_PLUGIN_PATH: $err"
odd=$(mktemp -d); cp "$tmp/flowbp_method_echo_test.so" "$odd/echo.so"
err=$("$flowbp" methods --plugin-dir "$odd" 2>&1 >/dev/null)
grep -q "note: ignored $odd/echo.so: plugin files are named flowbp_method_<name>.so" <<<"$err" || fail "misnamed plugin: $err"
shadow=$(mktemp -d); builtin=$(find "$(dirname "$flowbp")/../plugins" -name 'flowbp_method_refl.so' | head -n1)
cp "$builtin" "$shadow/"
err=$("$flowbp" methods --plugin-dir "$shadow" 2>&1 >/dev/null)
grep -q "note: method 'refl' of $shadow/flowbp_method_refl.so is used; .*flowbp_method_refl.so defines it too and is ignored" <<<"$err" \
  || fail "shadowed method: $err"
rm -rf "$odd" "$shadow"
echo "plugin paths: ok"

# Presets: listed with their values, in JSON as an object per method.
out=$("$flowbp" methods flowbp-bridge)
grep -q "presets (method.preset" <<<"$out" || fail "no presets heading: $out"
grep -q "authors-sd35: the authors' released FlowBP-Bridge config for SD3.5-M" <<<"$out" || fail "authors-sd35 missing: $out"
grep -q "K = 5, late_bias_gamma = 4.0" <<<"$out" || fail "preset values missing: $out"
grep -q "spec-v1:" <<<"$out" || fail "spec-v1 missing: $out"
out=$("$flowbp" methods --json flowbp-bridge)
/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); p=d[0]["presets"]; assert set(p)=={"authors-sd35","authors-flux1","authors-flux2","spec-v1"}, p; assert p["authors-flux2"]["values"]["K"]==3 and p["authors-flux2"]["values"]["grad_rescale_scope"]=="surrogate", p; assert p["spec-v1"]["source"], p' <<<"$out" \
  || fail "methods --json presets: $out"
out=$("$flowbp" methods --json --plugin-dir "$tmp" echo-test)
/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[0]["presets"]=={}, d' <<<"$out" \
  || fail "a method without presets has an empty presets object: $out"
echo "presets listing: ok"

# Every command says which option it does not know, and suggests the nearest.
for cmd in "methods --jsn" "backbones --jsn" "sweep --jbos 2" "report --bsaeline 3 x" "bench --metods refl"; do
  if err=$("$flowbp" $cmd 2>&1); then fail "flowbp $cmd accepted"; fi
  grep -q "unknown option --.* (did you mean '--" <<<"$err" || fail "flowbp $cmd: $err"
done
echo "unknown options: ok"
