#!/usr/bin/python3
"""Recomputes the report's tables from make_logs.py's known values, with numpy and
scipy (not the C++ code), and compares them with the CSV that `flowbp report` wrote.

    check_report.py REPORT_ROOT          (REPORT_ROOT/main and REPORT_ROOT/ablation)
    check_report.py --delta REPORT_DIR   (a report of make_logs.py's delta/: the CI of every
                                          ablation delta, paired by seed or Welch)
    check_report.py --fidelity REPORT_DIR LOG_DIR   (the gradient-fidelity table,
                                          recomputed with h5py out of LOG_DIR's logs)
"""
import math
import os
import sys

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_logs  # noqa: E402

failures = []


def close(what, got, want, tol=1e-9):
    if (isinstance(want, float) and math.isnan(want)) or (isinstance(got, float) and math.isnan(got)):
        ok = math.isnan(got) and math.isnan(want)
    else:
        ok = abs(got - want) <= tol * max(1.0, abs(want))
    if not ok:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def summary(values):
    v = np.array(values, dtype=float)
    n = len(v)
    mean = v.mean()
    if n < 2:
        return n, mean, float("nan"), float("nan")
    sd = v.std(ddof=1)
    return n, mean, sd, stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)


def best_labels(means, lower, metric=""):
    if metric.endswith("_std"):  # a spread, not a score: never marked
        return set()
    finite = {k: m for k, m in means.items() if not math.isnan(m)}
    if not finite or min(finite.values()) == max(finite.values()):
        return set()
    target = min(finite.values()) if lower else max(finite.values())
    return {k for k, m in finite.items() if m == target}


def check_main(path):
    df = pd.read_csv(path)
    groups = {"flowbp-lagrange": [0, 1, 2], "draft-lv": [0, 1, 2]}
    if set(df["label"]) != set(groups) | {"base model"}:
        failures.append(f"main.csv labels {sorted(set(df['label']))}")
    for metric in make_logs.METRICS:
        lower = metric in make_logs.LOWER_IS_BETTER
        means = {}
        for method, seeds in groups.items():
            n, mean, sd, half = summary([make_logs.final_eval(method, s)[metric] for s in seeds])
            means[method] = mean
            row = df[(df["label"] == method) & (df["metric"] == metric)]
            if len(row) != 1:
                failures.append(f"main.csv: {len(row)} rows for {method}/{metric}")
                continue
            row = row.iloc[0]
            close(f"{method}/{metric} n", float(row["n"]), float(n))
            close(f"{method}/{metric} mean", row["mean"], mean)
            close(f"{method}/{metric} std", row["std"], sd)
            close(f"{method}/{metric} ci95_half", row["ci95_half"], half)
            close(f"{method}/{metric} gain", row["gain_over_base"], mean - make_logs.BASE[metric])
            close(f"{method}/{metric} lower_is_better", float(row["lower_is_better"]), float(lower))
        winners = best_labels(means, lower, metric)
        for method in groups:
            row = df[(df["label"] == method) & (df["metric"] == metric)].iloc[0]
            if bool(row["best"]) != (method in winners):
                failures.append(f"{metric}: best mark of {method} is {row['best']}, want {method in winners}")


def check_ablation(path):
    df = pd.read_csv(path)
    seeds = {2: [0, 1], 4: [0, 1], 8: [0, 1], 16: [0]}
    for metric in make_logs.METRICS:
        lower = metric in make_logs.LOWER_IS_BETTER
        means = {}
        for k, ss in seeds.items():
            n, mean, sd, half = summary([make_logs.final_eval("flowbp-sparse", s, k)[metric] for s in ss])
            means[k] = mean
            row = df[(df["value"] == k) & (df["metric"] == metric)].iloc[0]
            close(f"K={k}/{metric} n", float(row["n"]), float(n))
            close(f"K={k}/{metric} mean", row["mean"], mean)
            close(f"K={k}/{metric} ci95_half", row["ci95_half"], half)
            close(f"K={k}/{metric} is_baseline", float(row["is_baseline"]), float(k == 2))
        for k in seeds:
            row = df[(df["value"] == k) & (df["metric"] == metric)].iloc[0]
            close(f"K={k}/{metric} gain", row["gain_over_baseline"], means[k] - means[2])
            if bool(row["best"]) != (k in best_labels(means, lower, metric)):
                failures.append(f"ablation {metric}: best mark of K={k} is {row['best']}")


def paired_half(diffs):
    """Half-width of the 95% paired-t interval: scipy's own when the spread is not zero."""
    d = np.array(diffs, dtype=float)
    if d.std(ddof=1) == 0:
        return 0.0
    ci = stats.ttest_rel(d, np.zeros_like(d)).confidence_interval(0.95)
    return (ci.high - ci.low) / 2


def welch_half(a, b):
    """Half-width of the 95% Welch interval, Welch-Satterthwaite degrees of freedom."""
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return 0.0
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return stats.t.ppf(0.975, dof) * math.sqrt(va + vb)


def check_delta(path):
    df = pd.read_csv(path)
    seeds = make_logs.DELTA_SEEDS
    base_k = min(seeds)
    if sorted(set(df["value"])) != sorted(seeds):
        failures.append(f"delta: values {sorted(set(df['value']))}")
    for metric in make_logs.METRICS:
        base = {s: make_logs.final_eval("drtune", s, base_k)[metric] for s in seeds[base_k]}
        for k, ss in seeds.items():
            row = df[(df["value"] == k) & (df["metric"] == metric)]
            if len(row) != 1:
                failures.append(f"delta: {len(row)} rows for K={k}/{metric}")
                continue
            row = row.iloc[0]
            mine = {s: make_logs.final_eval("drtune", s, k)[metric] for s in ss}
            gain = np.mean(list(mine.values())) - np.mean(list(base.values()))
            close(f"delta K={k}/{metric} gain", row["gain_over_baseline"], gain)
            if k == base_k:
                kind, half = "baseline", float("nan")
            elif sorted(mine) == sorted(base) and len(mine) >= 2:
                kind, half = "paired", paired_half([mine[s] - base[s] for s in sorted(mine)])
            elif len(mine) >= 2 and len(base) >= 2:
                kind, half = "welch", welch_half(list(mine.values()), list(base.values()))
            else:
                kind, half = "none", float("nan")
            if row["gain_ci"] != kind:
                failures.append(f"delta K={k}/{metric}: gain_ci {row['gain_ci']!r}, want {kind!r}")
            close(f"delta K={k}/{metric} gain_ci95_half", float(row["gain_ci95_half"]), half)


def run_mean(values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def run_median(values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else float("nan")


def check_fidelity(path, logs):
    """The fidelity table from the logs themselves (h5py): per run the mean of the finite
    values of each fidelity_* column (the norm ratio's median), then mean and Student-t 95%
    half-width over seeds."""
    import glob
    import h5py
    runs = {}
    for log in sorted(glob.glob(os.path.join(logs, "**", "log.h5"), recursive=True)):
        with h5py.File(log, "r") as f:
            config = dict(f["config"].attrs)
            if config.get("diagnostics.exact_grad_every", 0) <= 0:
                continue
            method = f.attrs["method"]
            method = method.decode() if isinstance(method, bytes) else method
            n = int(f["status"].attrs["steps_done"])
            cols = {k: f["steps"][k][:n] for k in f["steps"]}
        runs.setdefault(method, []).append(cols)
    df = pd.read_csv(path)
    if sorted(df["label"]) != sorted(runs):
        failures.append(f"fidelity.csv labels {sorted(df['label'])}, want {sorted(runs)}")
    for method, cols in runs.items():
        row = df[df["label"] == method]
        if len(row) != 1:
            failures.append(f"fidelity.csv: {len(row)} rows for {method}")
            continue
        row = row.iloc[0]
        close(f"fidelity {method} n", float(row["n"]), float(len(cols)))
        for column, prefix in [("fidelity_cos", "cos"), ("fidelity_norm_ratio", "norm_ratio"),
                               ("fidelity_bias_cos", "bias_cos"), ("fidelity_spread_cos", "spread_cos")]:
            per_run = [(run_median if prefix == "norm_ratio" else run_mean)(c[column]) for c in cols]
            n, mean, sd, half = summary(per_run)
            close(f"fidelity {method} {prefix}_mean", float(row[prefix + "_mean"]), float(mean))
            close(f"fidelity {method} {prefix}_ci95_half", float(row[prefix + "_ci95_half"]), float(half))
            if prefix in ("cos", "norm_ratio"):
                close(f"fidelity {method} {prefix}_std", float(row[prefix + "_std"]), float(sd))
        steps = sum(int(np.isfinite(c["fidelity_cos"]).sum()) for c in cols)
        nan_steps = sum(int((~np.isfinite(c["fidelity_cos"]) & np.isfinite(c["time_fidelity"])).sum()) for c in cols)
        close(f"fidelity {method} diagnostic_steps", float(row["diagnostic_steps"]), float(steps))
        close(f"fidelity {method} nan_steps", float(row["nan_steps"]), float(nan_steps))


if sys.argv[1] == "--fidelity":
    check_fidelity(os.path.join(sys.argv[2], "tables", "fidelity.csv"), sys.argv[3])
    for f in failures:
        print("MISMATCH", f)
    print(f"check_report --fidelity: {len(failures)} mismatches")
    sys.exit(1 if failures else 0)

if sys.argv[1] == "--delta":
    check_delta(os.path.join(sys.argv[2], "tables", "ablation.csv"))
    for f in failures:
        print("MISMATCH", f)
    print(f"check_report --delta: {len(failures)} mismatches")
    sys.exit(1 if failures else 0)

root = sys.argv[1]
check_main(os.path.join(root, "main", "tables", "main.csv"))
check_ablation(os.path.join(root, "ablation", "tables", "ablation.csv"))
status = pd.read_csv(os.path.join(root, "main", "tables", "status.csv"))
want = {"done": 6, "failed": 1, "running": 1, "unreadable": 4}
if status["state"].value_counts().to_dict() != want:
    failures.append(f"status counts {status['state'].value_counts().to_dict()}, want {want}")
for f in failures:
    print("MISMATCH", f)
print(f"check_report: {len(failures)} mismatches")
sys.exit(1 if failures else 0)
