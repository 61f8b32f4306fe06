#!/usr/bin/python3
"""`flowbp bench` end to end with tiny sizes: the text report and the --json
document hold every method with its phases, the model-only bound, the ratios,
the memory rows and the goals; bad input is refused with a clear message.

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
    for heading in ["Time per training iteration", "C++ harness vs the PyTorch reference", "Peak autograd memory",
                    "Goals"]:
        check(heading in p.stdout, "the report has a '%s' section" % heading)
    doc = json.load(open(out_json))

check(doc["settings"]["width"] == 32 and doc["settings"]["steps"] == 8, "settings are recorded as given")
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
    check(m["cpu"] > 0 and m["bound"]["cpu"] > 0, "%s: CPU times measured" % name)
    check(abs(m["harness_over_bound"] - m["cpu"] / m["bound"]["cpu"]) < 1e-9,
          "%s: harness/bound is cpu / bound cpu" % name)
    check(m["active_forwards"] >= 1, "%s: at least one re-forward" % name)
    check([r["steps"] for r in m["memory"]] == [8, 16, 32], "%s: memory rows at N = 8, 16, 32" % name)
    check(all(r["peak_autograd_bytes"] > 0 for r in m["memory"]), "%s: peaks measured" % name)
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
check(full["active_forwards"] == 8, "full-bp re-forwards all N = 8 steps")
check(full["memory_ratio"] > 3.0, "full-bp memory grows about linearly in N (ratio %.2f for 4x N)" % full["memory_ratio"])
check(by_name["flowbp-sparse"]["memory_ratio"] < 1.5, "flowbp-sparse memory does not follow N")

goals = doc["goals"]
kinds = {g["goal"].split(":")[0] for g in goals}
check(kinds == {"time", "memory"}, "goals cover time and memory: %s" % kinds)
check(sum(g["goal"].startswith("time: harness") for g in goals) == 7, "a bound goal per surrogate method")
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
check(p.returncode == 0 and "--memory-steps" in p.stdout, "--help lists the options")

# --no-python and one method: the Python section says why it is missing.
p = run(["--methods", "flowbp-sparse", "--iters", "1", "--width", "16", "--batch", "8", "--steps", "8",
         "--memory-steps", "", "--no-python"])
check(p.returncode == 0 and "not run: --no-python" in p.stdout, "--no-python is reported")

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
