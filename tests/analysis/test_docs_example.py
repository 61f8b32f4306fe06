#!/usr/bin/python3
"""Runs the first ```python block of docs/ANALYSIS.md on a real log, so the
documented way to load a log keeps working.

    test_docs_example.py docs/ANALYSIS.md WORK_DIR
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_logs  # noqa: E402

doc, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
log = os.path.join(work, "run", "log.h5")
make_logs.write_log(log, "flowbp-lagrange", 2, make_logs.base_config("flowbp-lagrange", 2, os.path.dirname(log),
                                                                     **{"method.K": 4}))

blocks = re.findall(r"```python\n(.*?)```", open(doc, encoding="utf-8").read(), re.S)
assert blocks, f"{doc}: no ```python block"
code, n = re.subn(r'^path = ".*"$', f"path = {log!r}", blocks[0], count=1, flags=re.M)
assert n == 1, "the example should start from a line `path = \"...\"`"
scope = {}
exec(compile(code, doc, "exec"), scope)

steps, evals, config, status, final = (scope[k] for k in ("steps", "evals", "config", "status", "final"))
assert len(steps) == make_logs.STEPS and "reward_mean" in steps.columns and "peak_autograd_bytes" in steps.columns
assert list(evals["step"]) == make_logs.EVAL_STEPS
assert config["method.K"] == 4 and config["train.seed"] == 2
assert status["state"] == "done"
assert abs(final["reward"] - make_logs.final_eval("flowbp-lagrange", 2)["reward"]) < 1e-12
assert scope["lower_is_better"] == ["fid_toy"]
print("docs example: OK")
