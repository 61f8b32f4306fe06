#!/usr/bin/python3
"""Reads run logs written by the C++ RunLog with h5py: layout, dtypes, attributes and
values (the same formulas as tests/train/test_run_log_fixture.h), a log whose writer was
SIGKILLed, and runs docs/LOG_FORMAT.md's "Reading it" example verbatim.

usage: test_run_log_h5py.py WRITER_PROGRAM LOG_FORMAT_MD
"""
import contextlib
import io
import math
import os
import re
import signal
import subprocess
import sys
import tempfile

import h5py
import numpy as np

STEP_COLUMNS = ["step", "loss", "reward_mean", "reward_std", "grad_norm_pre_clip", "grad_norm_post_clip",
                "r_s_mean", "r_s_max", "j", "s", "active_0", "active_1", "active_2", "n_active", "time_step"]
INT_STEP_COLUMNS = {"step", "j", "s", "active_0", "active_1", "active_2", "n_active"}
EVAL_COLUMNS = ["step", "is_base", "reward", "ood_laplace", "ood_distance", "quality_logp"]


def step_row(i):
    return [i + 1, 1.0 / (i + 1), 0.5 + i / 1000.0, 0.1, 2.0, 1.0, math.nan, float(i), i % 7, -1,
            10, 9, -1, 2, 0.001]


def eval_row(e):
    return [10 * e, 1 if e == 0 else 0, 0.2 + 0.1 * e, 0.3, 1.0 / (e + 1), -1.5]


failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def check_steps(f, rows):
    g = f["steps"]
    check(list(g.keys()) == STEP_COLUMNS, f"/steps columns in declaration order: {list(g.keys())}")
    for c, name in enumerate(STEP_COLUMNS):
        ds = g[name]
        check(ds.ndim == 1, f"/steps/{name} is 1-D")
        check(ds.maxshape == (None,), f"/steps/{name} is unlimited")
        check(ds.chunks is not None, f"/steps/{name} is chunked")
        want = np.dtype("int64") if name in INT_STEP_COLUMNS else np.dtype("float64")
        check(ds.dtype == want, f"/steps/{name} dtype {ds.dtype} == {want}")
        check(ds.shape[0] >= rows, f"/steps/{name} has {ds.shape[0]} >= {rows} rows")
        values = ds[:rows]
        for i in range(rows):
            expected = step_row(i)[c]
            ok = math.isnan(values[i]) if isinstance(expected, float) and math.isnan(expected) else values[i] == expected
            if not ok:
                check(False, f"/steps/{name}[{i}] = {values[i]}, expected {expected}")
                break


def check_complete_log(path, rows):
    with h5py.File(path, "r") as f:
        check(f.attrs["schema_version"] == 1, "schema_version == 1")
        check(f.attrs["schema_version"].dtype == np.int64, "schema_version is int64")
        check(f.attrs["method"] == "flowbp-lagrange", "method attribute is a str")
        check(f.attrs["seed"] == 42, "seed attribute")
        check(f.attrs["config_toml"] == "[train]\nsteps = 20\n", "config_toml round-trips")
        config = f["config"].attrs
        check(config["method.K"] == 4 and config["method.K"].dtype == np.int64, "/config method.K int64")
        check(config["method.beta"] == 0.3 and config["method.beta"].dtype == np.float64, "/config method.beta float64")
        check(config["method.trajectory_weighting"] == 1 and config["method.trajectory_weighting"].dtype == np.int8,
              "/config bool stored as int8")
        check(config["method.name"] == "flowbp-lagrange", "/config method.name")
        status = f["status"].attrs
        check(status["state"] == "done", f"status state {status['state']!r}")
        check(status["reason"] == "", "status reason empty")
        check(status["failed_step"] == -1, "failed_step -1")
        check(status["steps_done"] == rows and status["steps_total"] == rows, "steps_done/steps_total")
        check_steps(f, rows)
        g = f["eval"]
        check(list(g.keys()) == EVAL_COLUMNS, f"/eval columns: {list(g.keys())}")
        for c, name in enumerate(EVAL_COLUMNS):
            check(g[name].shape == (3,), f"/eval/{name} has 3 rows")
            check(np.allclose(g[name][:], [eval_row(e)[c] for e in range(3)]), f"/eval/{name} values")
        check(g["ood_distance"].attrs["lower_is_better"] == 1, "ood_distance lower_is_better")
        check(g["reward"].attrs["lower_is_better"] == 0, "reward higher is better")
        check(g["step"].dtype == np.int64 and g["reward"].dtype == np.float64, "/eval dtypes")


def check_killed_log(writer, path, wanted):
    child = subprocess.Popen([writer, path, "--forever"], stdout=subprocess.PIPE, text=True)
    reported = 0
    while reported < wanted:
        line = child.stdout.readline()
        if not line:
            break
        reported = int(line.split()[1])
    # Readable while the writer still runs: the writer takes no HDF5 file lock.
    with h5py.File(path, "r") as f:
        live = int(f["status"].attrs["steps_done"])
        check(live >= wanted, f"live log: steps_done {live} >= {wanted}")
        check(all(f["steps"][name].shape[0] >= live for name in STEP_COLUMNS), "live log: columns hold steps_done rows")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    check(reported == wanted, f"writer reported {reported} rows")
    with h5py.File(path, "r") as f:
        done = int(f["status"].attrs["steps_done"])
        check(f["status"].attrs["state"] == "running", "a killed run is still 'running'")
        check(done >= wanted, f"killed log: steps_done {done} >= {wanted}")
        check_steps(f, wanted)


def run_doc_example(doc_path, log_dir):
    doc = open(doc_path, encoding="utf-8").read()
    section = doc.split("## Reading it", 1)
    check(len(section) == 2, "docs/LOG_FORMAT.md has a 'Reading it' section")
    blocks = re.findall(r"```python\n(.*?)```", section[1], re.S)
    check(len(blocks) == 1, "exactly one python example in 'Reading it'")
    scope = {}
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(log_dir)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(blocks[0], "LOG_FORMAT.md example", "exec"), scope)
    finally:
        os.chdir(cwd)
    steps, evals = scope["steps"], scope["evals"]
    check(list(steps.columns) == STEP_COLUMNS, "example: steps DataFrame columns")
    check(len(steps) == 20, "example: 20 step rows")
    check(steps["step"].tolist() == list(range(1, 21)), "example: step column")
    check(str(steps["j"].dtype) == "int64" and str(steps["loss"].dtype) == "float64", "example: dtypes kept")
    check(list(evals.columns) == EVAL_COLUMNS and len(evals) == 3, "example: evals DataFrame")
    check(scope["lower_is_better"] == {"ood_distance"}, "example: lower_is_better set")
    check("flowbp-lagrange: done, 20 of 20 steps" in out.getvalue(), "example prints the run line")
    check("ood_distance" in out.getvalue() and "lower is better" in out.getvalue(), "example prints metrics")


def main():
    writer, doc_path = sys.argv[1], sys.argv[2]
    os.environ.pop("HDF5_USE_FILE_LOCKING", None)  # what a user's h5py does by default
    with tempfile.TemporaryDirectory(prefix="flowbp-h5py-") as tmp:
        path = os.path.join(tmp, "log.h5")
        subprocess.run([writer, path, "20"], check=True, stdout=subprocess.DEVNULL)
        check_complete_log(path, 20)
        run_doc_example(doc_path, tmp)
        for wanted in (1, 25):
            check_killed_log(writer, os.path.join(tmp, f"killed{wanted}.h5"), wanted)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all h5py checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
