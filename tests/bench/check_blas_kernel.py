#!/usr/bin/python3
"""The BLAS kernel fix, end to end, on real processes. OpenBLAS is made to run its
generic Prescott kernel (OPENBLAS_CORETYPE=Prescott, as Debian's 0.3.21 does by itself
on CPUs it does not recognise); `flowbp bench` and `flowbp sweep` must restart once
with the kernel for this CPU (SkylakeX on AVX-512, Haswell on AVX2), report it, and
never loop; FLOWBP_BLAS_FIX=0 leaves a warning instead. The C++ engine with the forced
kernel still agrees with the PyTorch reference (the reference-agreement test, rerun).

usage: check_blas_kernel.py FLOWBP_EXE SOURCE_ROOT REFERENCE_TEST_EXE
Exit 77 (skipped) where the fix does not apply: no OpenBLAS, or a CPU without AVX2.
"""
import json
import os
import subprocess
import sys
import tempfile

EXE, SOURCE, REFERENCE_TEST = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def bench(env_extra, tmp):
    out = os.path.join(tmp, "bench.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_CORETYPE", "FLOWBP_BLAS"))}
    env.update(env_extra)
    p = subprocess.run([EXE, "bench", "--methods", "refl", "--iters", "1", "--warmup", "0", "--width", "16",
                        "--depth", "1", "--batch", "8", "--steps", "4", "--memory-steps", "", "--no-python",
                        "--no-classic", "--no-subnormal", "--json", out],
                       capture_output=True, text=True, timeout=120, env=env)
    print(p.stderr, file=sys.stderr)
    doc = json.load(open(out)) if p.returncode == 0 else None
    return p, doc


flags = ""
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("flags"):
            flags = line.split(":", 1)[1].split()
            break
target = "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None

with tempfile.TemporaryDirectory() as tmp:
    p, doc = bench({}, tmp)
    check(p.returncode == 0, "a plain bench runs")
    if doc is None or doc["blas"]["library"] != "OpenBLAS" or target is None:
        print("skipped: BLAS %s on a CPU with %s" % (doc and doc["blas"]["line"], target or "no AVX2"))
        sys.exit(77)
    print("this machine: %s, CPU %s; the fix sets OPENBLAS_CORETYPE=%s" % (doc["blas"]["line"], doc["blas"]["cpu"], target))

    # The generic kernel: one restart, then the right kernel, reported.
    p, doc = bench({"OPENBLAS_CORETYPE": "Prescott"}, tmp)
    check(p.returncode == 0, "bench with the Prescott kernel exits 0")
    check(p.stderr.count("restarting with OPENBLAS_CORETYPE=" + target) == 1,
          "one restart with OPENBLAS_CORETYPE=%s: %s" % (target, p.stderr))
    check("Prescott kernel" in p.stderr, "the note names the generic kernel")
    if doc:
        check(doc["blas"]["kernel"] == target, "after the restart OpenBLAS runs %s: %s" % (target, doc["blas"]))
        check(doc["blas"]["openblas_coretype"] == target, "the bench reports the variable it runs with")

    # Opted out: the generic kernel stays, with one warning naming the fix.
    p, doc = bench({"OPENBLAS_CORETYPE": "Prescott", "FLOWBP_BLAS_FIX": "0"}, tmp)
    check(p.returncode == 0 and "restarting" not in p.stderr, "FLOWBP_BLAS_FIX=0: no restart")
    check(p.stderr.count("warning:") == 1 and "OPENBLAS_CORETYPE=" + target in p.stderr,
          "FLOWBP_BLAS_FIX=0: one warning with the fix: " + p.stderr)
    if doc:
        check(doc["blas"]["kernel"] == "Prescott", "FLOWBP_BLAS_FIX=0 keeps the kernel")

    # A fix that does not take (the kernel still reads generic): one restart, one warning, no loop.
    p, doc = bench({"FLOWBP_BLAS_KERNEL_OVERRIDE": "Prescott"}, tmp)
    check(p.returncode == 0, "an ineffective fix still runs")
    check(p.stderr.count("restarting") == 1 and p.stderr.count("did not take effect") == 1,
          "one restart, then one warning: " + p.stderr)

    # The sweep runner restarts too, so its runs inherit the variable.
    env = dict(os.environ, OPENBLAS_CORETYPE="Prescott")
    env.pop("FLOWBP_BLAS_RESTARTED", None)
    p = subprocess.run([EXE, "sweep", os.path.join(SOURCE, "sweeps", "quick.toml"), "--dry-run", "--out",
                        os.path.join(tmp, "sweep")], capture_output=True, text=True, timeout=120, env=env)
    check(p.returncode == 0 and "restarting with OPENBLAS_CORETYPE=" + target in p.stderr,
          "flowbp sweep restarts with the kernel its runs inherit: %d %s" % (p.returncode, p.stderr[-500:]))

    # Numbers with the forced kernel: the engine still agrees with the PyTorch reference.
    env = dict(os.environ, OPENBLAS_CORETYPE=target)
    p = subprocess.run([REFERENCE_TEST], capture_output=True, text=True, timeout=300, env=env)
    print(p.stdout[-2000:])
    check(p.returncode == 0, "with OPENBLAS_CORETYPE=%s the C++ engine agrees with reference.py" % target)

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
