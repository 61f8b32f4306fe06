#!/usr/bin/python3
"""`flowbp bench` end to end with tiny sizes: the text report and the --json
document hold every method with its phases, both model-only bounds (its own plan's
and the classic one), the classic engine side by side, the ratios, the memory rows,
the BLAS line, flush-to-zero and the goals; an experiment file's backbone can be
timed; bad input is refused with a clear message.

usage: check_bench_cli.py FLOWBP_EXE REFERENCE_PY
"""
import json
import os
import subprocess
import sys
import tempfile

EXE, REFERENCE = sys.argv[1], sys.argv[2]
METHODS = ["draft-lv", "drtune", "flowbp-bridge", "flowbp-lagrange", "flowbp-sparse", "full-bp", "leapalign", "refl"]
PYTHON_METHODS = ["flowbp-lagrange", "flowbp-sparse", "leapalign"]
PHASES = ["rollout", "plan", "surrogate_forward", "backward", "optimizer", "other", "total"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args):
    return subprocess.run([EXE, "bench"] + args, capture_output=True, text=True, timeout=200)


with tempfile.TemporaryDirectory() as tmp:
    out_json = os.path.join(tmp, "bench.json")
    p = run(["--iters", "2", "--warmup", "1", "--width", "32", "--depth", "2", "--batch", "16", "--steps", "8",
             "--memory-steps", "8,16,32", "--reference", REFERENCE, "--json", out_json])
    print(p.stdout)
    print(p.stderr, file=sys.stderr)
    check(p.returncode == 0, "bench exits 0 (got %d)" % p.returncode)
    for heading in ["Time per training iteration", "Against the classic engine", "Throughput", "Subnormal gradients",
                    "C++ harness vs the PyTorch reference", "Peak autograd memory", "Goals"]:
        check(heading in p.stdout, "the report has a '%s' section" % heading)
    blas_lines = [line for line in p.stdout.splitlines() if line.startswith("BLAS: ")]
    check(len(blas_lines) == 1 and ", kernel " in blas_lines[0], "one 'BLAS: <library> <version>, kernel <name>' line")
    doc = json.load(open(out_json))

check(doc["settings"]["width"] == 32 and doc["settings"]["steps"] == 8, "settings are recorded as given")
check(doc["blas"]["line"] == blas_lines[0] and doc["blas"]["library"] and doc["blas"]["path"],
      "the JSON has the BLAS line, library and path: %s" % doc["blas"])
check(doc["flush_denormal"] is True, "the bench runs with flush-to-zero")
check(doc.get("python_flush_denormal") is True, "so does the Python reference")
check(doc["clock"] == "process CPU time" and doc["device"] == "cpu", "CPU runs use process CPU time")
sub = doc["subnormal_gemm"]
check(sub["flushed_on"] is True and sub["ratio_on"] > 0 and sub["ratio_off"] > 0, "the subnormal GEMM row: %s" % sub)
by_name = {m["name"]: m for m in doc["methods"]}
check(sorted(by_name) == METHODS, "every method is measured: %s" % sorted(by_name))
for name, m in by_name.items():
    check(len(m["iterations"]) == 2, "%s: two timed iterations" % name)
    for phase in PHASES:
        check(phase in m["phases"] and m["phases"][phase] >= 0, "%s: phase %s" % (name, phase))
    check(m["phases"]["total"] > 0, "%s: a positive iteration time" % name)
    for it in m["iterations"]:
        check(abs(sum(it[k] for k in PHASES[:-1]) - it["total"]) <= 1e-6 + 1e-3 * it["total"],
              "%s: the phases of an iteration add up to its total" % name)
    check(m["bound"]["forward_nograd"] > 0 and m["bound"]["forward_backward"] > 0, "%s: the bound is measured" % name)
    check(m["cpu"] > 0 and m["bound"]["cpu"] > 0 and m["bound"]["classic_cpu"] > 0, "%s: CPU times measured" % name)
    check(abs(m["harness_over_bound"] - m["cpu"] / m["bound"]["cpu"]) < 1e-9,
          "%s: harness/bound is cpu / bound cpu" % name)
    check(abs(m["harness_over_classic_bound"] - m["cpu"] / m["bound"]["classic_cpu"]) < 1e-9,
          "%s: harness/classic bound is cpu / bound classic_cpu" % name)
    check(m.get("classic_cpu", 0) > 0 and abs(m["classic_over_classic_bound"] - m["classic_cpu"] /
                                              m["bound"]["classic_cpu"]) < 1e-9,
          "%s: the classic engine is timed side by side" % name)
    check(all(it["classic_cpu"] > 0 and it["bound_classic_cpu"] > 0 for it in m["iterations"]),
          "%s: every iteration has its classic step and bound" % name)
    check(1 <= m["reused_forwards"] <= m["active_forwards"], "%s: the rollout serves some forwards" % name)
    check(m["samples_per_second"] > 0 and m["over_full_bp"] > 0, "%s: throughput and step / full-bp" % name)
    check(m["active_forwards"] >= 1, "%s: at least one re-forward" % name)
    check([r["steps"] for r in m["memory"]] == [8, 16, 32], "%s: memory rows at N = 8, 16, 32" % name)
    check(all(r["peak_autograd_bytes"] > 0 for r in m["memory"]), "%s: peaks measured" % name)
    # The rollout's latents x_0..x_{N-1}, v_1..v_N: 2N x batch 16 x dim 2 floats, reported apart.
    check([r["rollout_cache_bytes"] for r in m["memory"]] == [2 * n * 16 * 2 * 4 for n in (8, 16, 32)],
          "%s: rollout latents reported apart from the peak" % name)
    check(abs(m["memory_ratio"] - m["memory"][-1]["peak_autograd_bytes"] / m["memory"][0]["peak_autograd_bytes"])
          < 1e-9, "%s: memory ratio is last / first" % name)
    if name in PYTHON_METHODS:
        check(m.get("cpp_over_python", 0) > 0, "%s: C++/Python ratio present" % name)
        check(abs(m["cpp_over_python"] - m["cpu"] / m["python_cpu"]) < 1e-9,
              "%s: C++/Python is the ratio of the CPU-time medians" % name)
    else:
        check("cpp_over_python" not in m, "%s: no Python ratio for a method the reference lacks" % name)

# The facts behind the memory goal, visible even at these sizes: full backprop's
# activations grow with N, and it re-forwards every step.
full = by_name["full-bp"]
check(full["active_forwards"] == 8, "full-bp backpropagates through all N = 8 steps")
check(full["reused_forwards"] == 8, "full-bp runs its rollout with gradient: all 8 forwards reused")
check(abs(full["over_full_bp"] - 1.0) < 1e-12, "full-bp / full-bp is 1")
check(by_name["flowbp-sparse"]["reused_forwards"] == by_name["flowbp-sparse"]["active_forwards"],
      "flowbp-sparse: every active forward comes from the rollout")
check(full["memory_ratio"] > 3.0, "full-bp memory grows about linearly in N (ratio %.2f for 4x N)" % full["memory_ratio"])
check(by_name["flowbp-sparse"]["memory_ratio"] < 1.5, "flowbp-sparse memory does not follow N")

goals = doc["goals"]
kinds = {g["goal"].split(":")[0] for g in goals}
check(kinds == {"time", "memory"}, "goals cover time and memory: %s" % kinds)
check(sum(g["goal"] == "time: harness / own bound" for g in goals) == 8, "an own-bound goal per method")
check(sorted(g["method"] for g in goals if g["goal"] == "time: harness / classic bound") ==
      ["drtune", "flowbp-bridge", "flowbp-sparse"], "classic-bound goals for DRTune, Sparse and Bridge")
check(sum(g["goal"].startswith("time: subnormal") for g in goals) == 1, "a subnormal-GEMM goal")
check(sum(g["goal"].startswith("time: C++ / Python") for g in goals) == 3, "a Python goal per reference method")
check(sum(g["goal"].startswith("memory") for g in goals) == 8, "a memory goal per method")
check(all(isinstance(g["pass"], bool) for g in goals), "every goal is PASS or MISS")

# Bad input: a clear message naming the problem, exit status 2, nothing measured.
p = run(["--methods", "flowbp-sprase"])
check(p.returncode == 2, "an unknown method exits 2")
check("flowbp-sparse" in p.stderr and "did you mean" in p.stderr, "an unknown method gets 'did you mean': " + p.stderr)
p = run(["--memory-steps", "25,x"])
check(p.returncode == 2 and "--memory-steps" in p.stderr, "a bad --memory-steps is named: " + p.stderr)
p = run(["--methods", "flowbp-sparse", "--K", "40", "--steps", "8", "--no-python"])
check(p.returncode == 2 and "method.K" in p.stderr, "K > N is refused before measuring: " + p.stderr)
p = run(["--help"])
check(p.returncode == 0 and "--memory-steps" in p.stdout and "--experiment" in p.stdout, "--help lists the options")
p = run(["--set", "train.lr=0.1", "--no-python"])
check(p.returncode == 2 and "--experiment" in p.stderr, "--set without --experiment is refused: " + p.stderr)
p = run(["--device", "cuda", "--no-python", "--methods", "refl"])
check(p.returncode == 2 and "without CUDA" in p.stderr, "--device cuda in a CPU build is refused: " + p.stderr)

# --no-python and one method: the Python section says why it is missing.
p = run(["--methods", "flowbp-sparse", "--iters", "1", "--width", "16", "--batch", "8", "--steps", "8",
         "--memory-steps", "", "--no-python"])
check(p.returncode == 0 and "not run: --no-python" in p.stdout, "--no-python is reported")

# Any experiment file: its backbone kind is loaded as `flowbp train` loads it (here the
# toy kind, pre-trained briefly into a fresh cache), no Python reference.
SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(REFERENCE)))
with tempfile.TemporaryDirectory() as tmp:
    out_json = os.path.join(tmp, "exp.json")
    env = dict(os.environ, FLOWBP_CACHE_DIR=os.path.join(tmp, "cache"))
    p = subprocess.run([EXE, "bench", "--experiment", os.path.join(SOURCE, "experiments", "toy.toml"),
                        "--set", "backbone.pretrain_steps=20", "--set", "backbone.hidden=32", "--set", "train.batch=16",
                        "--methods", "flowbp-sparse,full-bp", "--steps", "8", "--memory-steps", "8,16", "--iters", "1",
                        "--warmup", "0", "--no-subnormal", "--json", out_json],
                       capture_output=True, text=True, timeout=200, env=env)
    print(p.stdout)
    print(p.stderr, file=sys.stderr)
    check(p.returncode == 0, "bench --experiment exits 0 (got %d)" % p.returncode)
    if p.returncode == 0:
        doc = json.load(open(out_json))
        check("experiment" in doc["model"] and "toy-gmm" in doc["model"], "the model is the experiment's: " + doc["model"])
        check(doc["python_note"].startswith("the reference implements the toy"), "no Python reference for it")
        check("subnormal_gemm" not in doc, "--no-subnormal skips the row")
        ms = {m["name"]: m for m in doc["methods"]}
        check(sorted(ms) == ["flowbp-sparse", "full-bp"], "the two methods are measured")
        check(all(m["batch"] == 16 for m in ms.values()), "the --set batch is used")
        check(ms["flowbp-sparse"]["over_full_bp"] > 0 and ms["full-bp"]["memory_ratio"] > 1.5,
              "step / full-bp and memory against N for an experiment file")

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
