#!/usr/bin/python3
"""Runs the documented ways to load a log on real logs, so they keep working:

- the first ```python block of docs/ANALYSIS.md,
- the h5py block of README.md's "Logs" section,
- the block of docs/LOG_FORMAT.md's "Reading it" section,

each on a finished log and on the log of a killed run, whose /steps columns are one
partial row longer than /status@steps_done (docs/LOG_FORMAT.md, "Crash safety").

    test_docs_example.py docs/ANALYSIS.md README.md docs/LOG_FORMAT.md WORK_DIR
"""
import contextlib
import io
import os
import re
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_logs  # noqa: E402

analysis_md, readme_md, log_format_md, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)

done_log = os.path.join(work, "done", "log.h5")
make_logs.write_log(done_log, "flowbp-lagrange", 2,
                    make_logs.base_config("flowbp-lagrange", 2, os.path.dirname(done_log), **{"method.K": 4}))

# A run SIGKILLed while it wrote step 61: 60 committed rows, half the columns already one row longer.
KILLED_ROWS = 60
killed_log = os.path.join(work, "killed", "log.h5")
make_logs.write_log(killed_log, "flowbp-lagrange", 3,
                    make_logs.base_config("flowbp-lagrange", 3, os.path.dirname(killed_log), **{"method.K": 4}),
                    state="running", steps_done=KILLED_ROWS)
with h5py.File(killed_log, "r+") as f:
    for i, name in enumerate(sorted(f["steps"])):
        if i % 2 == 0:
            column = f["steps"][name]
            column.resize((KILLED_ROWS + 1,))
            column[KILLED_ROWS] = np.array(KILLED_ROWS + 1).astype(column.dtype)


def python_blocks(doc, after=None):
    text = open(doc, encoding="utf-8").read()
    if after is not None:
        parts = text.split(after, 1)
        assert len(parts) == 2, f"{doc}: no section {after!r}"
        text = parts[1]
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"{doc}: no ```python block" + (f" after {after!r}" if after else "")
    return blocks


def run(code, name, cwd=None):
    scope = {}
    out = io.StringIO()
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, name, "exec"), scope)
    finally:
        os.chdir(old)
    return scope, out.getvalue()


def with_path(code, pattern, log, doc):
    code, n = re.subn(pattern, f"path = {log!r}", code, count=1, flags=re.M)
    assert n == 1, f"{doc}: the example should start from a line matching {pattern!r}"
    return code


# docs/ANALYSIS.md
analysis = python_blocks(analysis_md)[0]
scope, _ = run(with_path(analysis, r'^path = ".*"$', done_log, analysis_md), analysis_md)
steps, evals, config, status, final = (scope[k] for k in ("steps", "evals", "config", "status", "final"))
assert len(steps) == make_logs.STEPS and "reward_mean" in steps.columns and "peak_autograd_bytes" in steps.columns
assert list(evals["step"]) == make_logs.EVAL_STEPS
assert config["method.K"] == 4 and config["train.seed"] == 2
assert status["state"] == "done"
assert abs(final["reward"] - make_logs.final_eval("flowbp-lagrange", 2)["reward"]) < 1e-12
assert scope["lower_is_better"] == ["fid_toy"]
scope, _ = run(with_path(analysis, r'^path = ".*"$', killed_log, analysis_md), analysis_md)
assert len(scope["steps"]) == KILLED_ROWS, f"{analysis_md}: {len(scope['steps'])} step rows of a killed run, want {KILLED_ROWS}"

# README.md, "### Logs"
readme = python_blocks(readme_md, "### Logs")[0]
for log, rows in [(done_log, make_logs.STEPS), (killed_log, KILLED_ROWS)]:
    scope, out = run(with_path(readme, r"^path = .*$", log, readme_md), readme_md)
    assert len(scope["steps"]) == rows, f"{readme_md}: {len(scope['steps'])} step rows, want {rows} ({log})"
    assert list(scope["steps"]["step"]) == list(range(1, rows + 1))
    assert "flowbp-lagrange" in out

# docs/LOG_FORMAT.md, "## Reading it" (run in the log's folder, as the doc says)
reading = python_blocks(log_format_md, "## Reading it")[0]
for log, rows in [(done_log, make_logs.STEPS), (killed_log, KILLED_ROWS)]:
    scope, out = run(reading, log_format_md, cwd=os.path.dirname(log))
    assert len(scope["steps"]) == rows
    lines = {line.split(":")[0].strip(): line for line in out.splitlines() if ": base " in line}
    assert "reward_std" in lines, out
    # A spread is neither better higher nor lower (the report never marks it best).
    assert "higher is better" not in lines["reward_std"] and "lower is better" not in lines["reward_std"], lines["reward_std"]
    assert "higher is better" in lines["reward"] and "lower is better" in lines["fid_toy"], out

print("docs examples: OK")
