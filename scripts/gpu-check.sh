#!/bin/bash
# The GPU check, in one command, for a machine with a pip PyTorch built with CUDA (its
# package holds a CUDA LibTorch), a C++ compiler, meson and ninja, but no Debian -dev
# packages and no network (docs/CUDA.md, "Checking a GPU machine"):
#
#   1. unpacks the .deb files of scripts/fetch-gpu-debs.sh into a prefix (dpkg -x),
#   2. configures flowbp against the pip LibTorch (-Dtorch_prefix) and that prefix,
#      builds it and runs the tests,
#   3. runs the quick sweep on the GPU,
#   4. runs `flowbp bench --device cuda` on the image DiT (experiments/dit_scale.toml)
#      for N = 25, 50, 100: peak CUDA memory, step time against full-bp, images/s.
#
#   bash scripts/gpu-check.sh [DEBS_DIR]      # default DEBS_DIR: gpu-debs/
#
# Results go to $OUT (default ./gpu-check-out): summary.md, the logs, the bench's text
# and JSON. Each stage has its own time limit and the script ends within
# GPU_CHECK_BUDGET seconds (default 530); a stage that does not fit is skipped and
# said so. CPU-only machines can run stages 1-2 with GPU_CHECK_CPU=1 (Debian's
# LibTorch, the prefix's HDF5/Boost/toml++), which is how the script itself is tested.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
debs=${1:-gpu-debs}
out=${OUT:-$root/gpu-check-out}
budget=${GPU_CHECK_BUDGET:-530}
cpu_only=${GPU_CHECK_CPU:-0}
work=${GPU_CHECK_WORK:-/tmp/flowbp-gpu-check}
prefix=$work/prefix
build=${GPU_CHECK_BUILD:-$work/build}
jobs=$(nproc)
start=$(date +%s)
mkdir -p "$out" "$work"
log=$out/gpu-check.log
summary=$out/summary.md
: >"$log"

say() { echo "$*" | tee -a "$log"; }
left() { echo $((budget - ($(date +%s) - start))); }
# stage NAME SECONDS COMMAND...: runs with a limit (never past the budget), logs, records;
# stdout goes to $stage_out when that is set (stage_out=FILE stage ...).
stage() {
  local name=$1 limit=$2
  shift 2
  local remaining
  remaining=$(left)
  if ((remaining < 20)); then
    say "== $name: SKIPPED (budget spent)"
    echo "| $name | skipped: budget spent | |" >>"$summary"
    return 1
  fi
  ((limit > remaining - 10)) && limit=$((remaining - 10))
  say "== $name (limit ${limit}s)"
  local t0=$(date +%s) rc
  if [[ -n ${stage_out:-} ]]; then
    timeout --kill-after=5 "$limit" "$@" >"$stage_out" 2>>"$log"
  else
    timeout --kill-after=5 "$limit" "$@" >>"$log" 2>&1
  fi
  rc=$?
  local took=$(($(date +%s) - t0))
  local what="ok"
  ((rc == 124 || rc == 137)) && what="TIMED OUT"
  ((rc != 0 && rc != 124 && rc != 137)) && what="FAILED (exit $rc)"
  say "== $name: $what in ${took}s"
  echo "| $name | $what | ${took}s |" >>"$summary"
  return $rc
}

python=$(command -v python3)
# meson and ninja: on PATH, else the Python packages of the machine's python3.
meson=(meson)
command -v meson >/dev/null || meson=("$python" -m mesonbuild.mesonmain)
ninja=(ninja)
command -v ninja >/dev/null || ninja=("$python" -m ninja)
{
  echo "# flowbp GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo '```'
  (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi")
  echo "host: $(uname -srm), $(nproc) cores"
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())' 2>&1
  echo "c++: $(c++ --version 2>&1 | head -1)"
  echo "meson: $("${meson[@]}" --version 2>&1), ninja: $("${ninja[@]}" --version 2>&1)"
  echo '```'
  echo
  echo "| stage | result | time |"
  echo "|---|---|---|"
} >"$summary"
cat "$summary" >>"$log"

# --- 1. the Debian packages, unpacked into a prefix --------------------------------
rm -rf "$prefix" "$prefix-gloo"
mkdir -p "$prefix" "$prefix-gloo"
count=0
for f in "$debs"/*.deb; do
  [[ -e $f ]] || { say "no .deb files in $debs: run scripts/fetch-gpu-debs.sh where the network is, first"; exit 1; }
  # gloo's headers apart: used only when the LibTorch has none of its own.
  if [[ $(basename "$f") == libgloo-dev_* ]]; then dpkg -x "$f" "$prefix-gloo"; else dpkg -x "$f" "$prefix"; fi
  count=$((count + 1))
done
say "== unpacked $count .deb files into $prefix"
echo "| unpack $count .deb files | ok | |" >>"$summary"

lib=$prefix/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$lib:$lib/hdf5/serial${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# pkg-config: only the prefix's .pc files, their paths moved into the prefix.
export PKG_CONFIG_LIBDIR=$lib/pkgconfig:$prefix/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$prefix
command -v pkg-config >/dev/null || export PKG_CONFIG=$prefix/usr/bin/pkgconf
export BOOST_INCLUDEDIR=$prefix/usr/include BOOST_LIBRARYDIR=$lib

# --- 2. configure, build, test ------------------------------------------------------
setup_args=(-Ddoctest_include="$prefix/usr/include/doctest" -Dpython="$python")
cpp_args=""
if [[ $cpu_only == 1 ]]; then
  setup_args+=(-Dcuda=disabled)
else
  torch_dir=$("$python" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
  abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  setup_args+=(-Dtorch_prefix="$torch_dir" -Dtorch_cxx11_abi="$abi" -Dcuda=enabled)
  site=$(dirname "$torch_dir")
  # CUDA's and NCCL's headers: the toolkit's, else the pip nvidia-* packages'.
  for inc in "${CUDA_HOME:-/usr/local/cuda}/include" "$site"/nvidia/cu*/include "$site"/nvidia/cuda_runtime/include \
    "$site"/nvidia/nccl/include; do
    [[ -d $inc ]] && cpp_args+=" -isystem $inc"
  done
  [[ -d $torch_dir/include/gloo ]] || cpp_args+=" -isystem $prefix-gloo/usr/include"
fi
[[ -n $cpp_args ]] && setup_args+=(-Dcpp_args="${cpp_args# }")
rm -rf "$build"
stage "meson setup" 120 "${meson[@]}" setup "$build" "${setup_args[@]}" || { tail -40 "$log"; exit 1; }
grep -q "$prefix" "$build/build.ninja" && say "   (hdf5, boost, toml++ found in $prefix)"
# GPU_CHECK_TARGETS (ninja target paths) limits the build: the CPU test of this script
# builds the targets that use the prefix's libraries only.
read -r -a targets <<<"${GPU_CHECK_TARGETS:-}"
stage "build" 330 "${ninja[@]}" -C "$build" -j "$jobs" "${targets[@]}" || { tail -60 "$log"; exit 1; }
exe=$build/app/flowbp
if [[ $cpu_only == 1 ]]; then
  say "GPU_CHECK_CPU=1: built against the prefix; stopping before the tests and the GPU stages"
  exit 0
fi
# The tests that need no Debian Python (python3-torch, h5py, gnuplot) on this machine
# run in full; a failure is reported, not fatal: the GPU numbers are still wanted.
stage "tests" 150 "${meson[@]}" test -C "$build" --print-errorlogs --num-processes "$jobs" --no-rebuild
cp "$build/meson-logs/testlog.txt" "$out/testlog.txt" 2>/dev/null

# --- 3. the quick sweep on the GPU --------------------------------------------------
sed -e "s|^base = .*|base = \"$root/experiments/toy.toml\"|" -e 's|^\[set\]|[set]\n"train.device" = "cuda"|' \
  sweeps/quick.toml >"$work/quick-cuda.toml"
stage "quick sweep --device cuda" 120 "$exe" sweep "$work/quick-cuda.toml" --out "$work/quick" --jobs 8 --quiet
"$exe" sweep "$work/quick-cuda.toml" --out "$work/quick" --status >"$out/quick-status.txt" 2>&1
"$exe" report "$work/quick" >"$out/quick-report.txt" 2>&1

# --- 4. the bench on the DiT --------------------------------------------------------
experiment=experiments/dit_scale.toml
if [[ ! -f $experiment ]]; then
  say "$experiment is missing (it comes with the image-DiT backbone); timing the toy on the GPU instead"
  experiment=experiments/toy.toml
fi
echo "bench experiment: $experiment" >>"$summary"
bench=("$exe" bench --experiment "$experiment" --device cuda --no-python --iters 3 --warmup 1)
stage_out=$out/bench-n25.txt stage "bench N=25, memory at N=25,50,100" 240 \
  "${bench[@]}" --steps 25 --memory-steps 25,50,100 --json "$out/bench-n25.json"
stage_out=$out/bench-n50.txt stage "bench N=50" 90 \
  "${bench[@]}" --steps 50 --memory-steps "" --no-classic --json "$out/bench-n50.json"
stage_out=$out/bench-n100.txt stage "bench N=100" 90 \
  "${bench[@]}" --steps 100 --memory-steps "" --no-classic --json "$out/bench-n100.json"
{
  echo
  echo "total: $(($(date +%s) - start))s of ${budget}s"
  for f in "$out"/bench-n*.txt; do
    [[ -s $f ]] || continue
    echo
    echo "## $(basename "$f")"
    echo '```'
    cat "$f"
    echo '```'
  done
} >>"$summary"
say "summary: $summary"
