#!/usr/bin/python3
"""Writes small, real flowbp run logs (docs/LOG_FORMAT.md, schema 1) with known
numbers, plus one file of every kind the report must survive, for the analysis tests.

    make_logs.py OUT_DIR

OUT_DIR/main      flowbp-lagrange and draft-lv, 3 seeds each, and the bad files
OUT_DIR/ablation  flowbp-sparse with method.K in {2, 4, 8} x 2 seeds, and K=16 x 1 seed
OUT_DIR/memory    full-bp and flowbp-sparse with sampling.steps in {10, 20, 40}
OUT_DIR/backbones flowbp-sparse on two backbones (backbone.hidden 128 and 256, different base
                  models), refl on the 256 one only, 2 seeds each
OUT_DIR/lagrange  flowbp-lagrange as sweeps/lagrange.toml lists its variants (every method key
                  in every run's config), 2 seeds; zero gradient norms (the hinge cleared),
                  r_s undefined (NaN) for P = 1 and on odd steps, a wide r_0 spread
OUT_DIR/delta     drtune with method.K in {2, 4, 16} on seeds {0, 1, 2} (paired with K = 2),
                  K = 8 on seeds {3, 4, 5} (Welch), K = 32 on seed 0 only (no interval)
OUT_DIR/fidelity  the gradient-fidelity diagnostic every 10 steps: flowbp-lagrange (plan draws:
                  bias and spread; one diagnostic step of seed 1 with a zero gradient, NaN) and
                  refl (no draws) on 3 seeds, full-bp on 1 seed (cosine 1), and draft-lv logs
                  written before the diagnostic existed (no columns, no key)
The eval values are given by the functions below; check_report.py recomputes the
expected tables from them independently of the C++ code.
"""
import math
import os
import sys

import h5py
import numpy as np

STEPS = 100
EVAL_STEPS = [0, 50, 100]
METRICS = ["reward", "reward_std", "ood_aesthetic", "ood_clip", "quality_logp", "mode_coverage", "fid_toy"]
LOWER_IS_BETTER = {"fid_toy"}
BASE = {"reward": 0.50, "reward_std": 0.20, "ood_aesthetic": 0.30, "ood_clip": 0.60,
        "quality_logp": -2.0, "mode_coverage": 1.0, "fid_toy": 10.0}


def final_eval(method, seed, knob=None):
    """The final EMA eval row of a run: the numbers the tables must reproduce."""
    if method == "flowbp-lagrange":
        return {"reward": 0.80 + 0.04 * seed, "reward_std": 0.10 + 0.01 * seed, "ood_aesthetic": 0.35 - 0.01 * seed,
                "ood_clip": 0.62 + 0.02 * seed, "quality_logp": -2.1 - 0.05 * seed, "mode_coverage": 0.9,
                "fid_toy": 8.0 + 0.5 * seed}
    if method == "draft-lv":
        return {"reward": 0.70 + 0.10 * seed * seed, "reward_std": 0.15, "ood_aesthetic": 0.40 + 0.02 * seed,
                "ood_clip": 0.55, "quality_logp": -1.9 + 0.01 * seed, "mode_coverage": 0.7 + 0.1 * seed,
                "fid_toy": 7.0 + 0.25 * seed}
    if method == "flowbp-sparse":
        k = knob
        return {"reward": 0.60 + 0.05 * math.log2(k) + 0.01 * seed, "reward_std": 0.12, "ood_aesthetic": 0.31,
                "ood_clip": 0.60 - 0.01 * k + 0.003 * seed, "quality_logp": -2.0, "mode_coverage": 0.95,
                "fid_toy": 9.0 + 0.1 * k - 0.2 * seed}
    if method == "full-bp":
        return {m: BASE[m] + 0.1 for m in METRICS}
    if method == "refl":
        return {m: BASE[m] + 0.2 + 0.01 * seed for m in METRICS}
    if method == "drtune":  # seed effects that differ between K, so paired differences have a spread
        k = knob
        wobble = {0: 0.00, 1: 0.03, 2: -0.01, 3: 0.02, 4: 0.05, 5: -0.02}[seed] * (1 + (k % 3))
        return {"reward": 0.60 + 0.05 * math.log2(k) + 0.01 * seed + wobble, "reward_std": 0.1 + 0.01 * k,
                "ood_aesthetic": 0.30 + 0.002 * k * seed, "ood_clip": 0.60 - 0.01 * k + wobble,
                "quality_logp": -2.0 - 0.01 * seed * seed, "mode_coverage": 0.9 + wobble,
                "fid_toy": 9.0 + 0.1 * k - 0.2 * seed + 3 * wobble}
    if method == "flowbp-lagrange" and knob is not None:  # a lagrange.toml variant: knob = (P, variant index)
        p, v = knob
        return {"reward": 0.80 + 0.02 * p + 0.01 * v + 0.01 * seed, "reward_std": 0.1, "ood_aesthetic": 0.3,
                "ood_clip": 0.6, "quality_logp": -2.0, "mode_coverage": 0.9, "fid_toy": 8.0}
    raise ValueError(method)


def write_log(path, method, seed, config, *, state="done", steps_done=STEPS, reason="", failed_step=-1,
              schema_version=1, fixed_strings=False, knob=None, drop_eval=(), r0_nan=False, peak_bytes=1 << 20,
              base_shift=0.0, backbone_cache_key=None, zero_grad_every=0, rs_nan_odd=False, r0_spread=0.0,
              fidelity=None):
    """base_shift: added to every base-model metric (another backbone's base model);
    zero_grad_every: every k-th step has grad_norm_pre_clip = 0 (every sample cleared the hinge);
    rs_nan_odd: r_s is NaN on odd steps (no interior connector drawn that step);
    r0_spread: r_0 alternates +-r0_spread around its level between seeds (a band wider than the mean)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed + 17)
    with h5py.File(path, "w") as f:
        s = (lambda x: np.bytes_(x)) if fixed_strings else (lambda x: x)
        f.attrs["schema_version"] = np.int64(schema_version)
        for k, v in {"flowbp_version": "0.1.0", "torch_version": "1.13.1", "hdf5_version": "1.10.8",
                     "config_toml": "# test", "config_id": "%012x" % abs(hash((method, seed, str(config)))),
                     "run_name": f"{method}-s{seed}", "method": method, "created_utc": "2025-01-01T00:00:00Z"}.items():
            f.attrs[k] = s(v)
        if backbone_cache_key is not None:
            f.attrs["backbone_cache_key"] = s(backbone_cache_key)
        f.attrs["seed"] = np.int64(seed)
        f.attrs["world_size"] = np.int64(1)
        cfg = f.create_group("config")
        for k, v in config.items():
            if isinstance(v, bool):
                cfg.attrs[k] = np.bool_(v)  # h5py: a one-byte enum
            elif isinstance(v, int):
                cfg.attrs[k] = np.int64(v)
            elif isinstance(v, float):
                cfg.attrs[k] = np.float64(v)
            else:
                cfg.attrs[k] = s(v)
        st = f.create_group("status")
        st.attrs["state"] = s(state)
        st.attrs["reason"] = s(reason)
        st.attrs["failed_step"] = np.int64(failed_step)
        st.attrs["steps_done"] = np.int64(steps_done)
        st.attrs["steps_total"] = np.int64(STEPS)

        n = steps_done
        step = np.arange(1, n + 1, dtype=np.int64)
        fe = final_eval(method, seed, knob)
        reward = BASE["reward"] + (fe["reward"] - BASE["reward"]) * (1 - np.exp(-step / 30.0)) + 0.01 * rng.standard_normal(n)
        grad = 2.0 + rng.random(n)
        if zero_grad_every:
            grad[step % zero_grad_every == 0] = 0.0
        r_s = np.full(n, np.nan) if r0_nan else 0.02 + 0.01 * rng.random(n)
        if rs_nan_odd:
            r_s[step % 2 == 1] = np.nan
        r_0 = np.full(n, np.nan) if r0_nan else 0.05 + 0.02 * rng.random(n) + (r0_spread if seed % 2 else -0.5 * r0_spread)
        cols = {
            "step": step, "loss": 1.0 - reward, "reward_mean": reward, "reward_std": np.full(n, 0.1),
            "grad_norm_pre_clip": grad, "grad_norm_post_clip": np.minimum(grad, 1.0),
            "r_s_mean": r_s,
            "r_s_max": np.full(n, np.nan) if r0_nan else np.full(n, 0.05),
            "r_0_mean": r_0,
            "r_0_max": np.full(n, np.nan) if r0_nan else np.full(n, 0.1),
            "compose_err": np.full(n, np.nan), "traj_weight_min": np.ones(n), "traj_weight_max": np.ones(n),
            "grad_rescale_factor": np.ones(n), "j": np.full(n, 5, dtype=np.int64), "s": np.full(n, 12, dtype=np.int64),
            "active_0": np.full(n, 12, dtype=np.int64), "active_1": np.full(n, 5, dtype=np.int64),
            "n_active": np.full(n, 2, dtype=np.int64), "jacobian_depth": np.full(n, 1, dtype=np.int64),
            "peak_autograd_bytes": np.full(n, peak_bytes, dtype=np.int64),
            "time_rollout": np.full(n, 0.001), "time_surrogate_forward": np.full(n, 0.002),
            "time_backward": np.full(n, 0.003), "time_optimizer": np.full(n, 0.0005),
            "time_logging": np.full(n, 0.0001), "time_step": np.full(n, 0.0066 + peak_bytes / 1e9),
            "lr": np.full(n, 1e-3),
        }
        if fidelity is not None:
            cols.update(fidelity_columns(method, seed, step, fidelity))
        g = f.create_group("steps")
        for k, v in cols.items():
            g.create_dataset(k, data=v, maxshape=(None,), chunks=True)

        evals = [e for e in EVAL_STEPS if e <= n]
        ev = f.create_group("eval")
        ev.create_dataset("step", data=np.array(evals, dtype=np.int64), maxshape=(None,), chunks=True)
        if "is_base" not in drop_eval:
            ev.create_dataset("is_base", data=np.array([1] + [0] * (len(evals) - 1), dtype=np.int64),
                              maxshape=(None,), chunks=True)
        for m in METRICS:
            if m in drop_eval:
                continue
            base = BASE[m] + base_shift
            mid = 0.5 * (base + fe[m])
            values = [base] + [mid] * (len(evals) - 2) + ([fe[m]] if len(evals) > 1 else [])
            d = ev.create_dataset(m, data=np.array(values[:len(evals)], dtype=np.float64), maxshape=(None,), chunks=True)
            if m in LOWER_IS_BETTER:
                d.attrs["lower_is_better"] = np.int64(1)


FIDELITY_EVERY = 10
FIDELITY_LEVEL = {"flowbp-lagrange": 0.6, "refl": 0.3, "full-bp": 1.0}


def fidelity_columns(method, seed, step, draws):
    """The fidelity_* columns of a run that ran the diagnostic every FIDELITY_EVERY steps
    (steps 1, 11, 21, ...): NaN elsewhere; bias and spread only with plan draws."""
    n = len(step)
    on = (step - 1) % FIDELITY_EVERY == 0
    level = FIDELITY_LEVEL[method]
    wobble = 0.0 if method == "full-bp" else 0.1 * np.sin(step + 3.0 * seed)
    cos = np.where(on, level + wobble, np.nan)
    ratio = np.where(on, (1.0 if method == "full-bp" else 0.5 + 0.1 * seed) + 0.0 * step, np.nan)
    bias = np.where(on & (draws > 1), np.minimum(1.0, level + 0.2 + 0.02 * seed), np.nan)
    spread = np.where(on & (draws > 1), 0.4 + 0.05 * np.cos(step * 1.0 + seed), np.nan)
    seconds = np.where(on, 0.02, np.nan)
    peak = np.where(on, 1 << 18, -1).astype(np.int64)
    if method == "flowbp-lagrange" and seed == 1:  # step 41: every sample past the hinge, a zero gradient
        cos[40] = ratio[40] = np.nan
    if method == "refl" and seed == 2:  # step 21: a near-zero exact gradient, a huge ratio (the median ignores it)
        ratio[20] = 1e9
    return {"fidelity_cos": cos, "fidelity_norm_ratio": ratio, "fidelity_bias_cos": bias,
            "fidelity_spread_cos": spread, "time_fidelity": seconds, "fidelity_peak_bytes": peak}


def base_config(method, seed, run_dir, **extra):
    c = {"method.name": method, "train.seed": seed, "train.steps": STEPS, "train.lr": 1e-3, "train.ema": True,
         "sampling.steps": 20, "backbone.name": "toy-gmm", "output.dir": run_dir}
    c.update(extra)
    return c


def main(out):
    main_dir = os.path.join(out, "main")
    for method, extra in [("flowbp-lagrange", {"method.K": 4, "method.order": 3}), ("draft-lv", {"method.K": 1})]:
        for seed in range(3):
            d = os.path.join(main_dir, f"{method}-s{seed}")
            write_log(os.path.join(d, "log.h5"), method, seed, base_config(method, seed, d, **extra),
                      r0_nan=(method == "draft-lv"), fixed_strings=(method == "draft-lv" and seed == 1))

    lag = {"method.K": 4, "method.order": 3}
    d = os.path.join(main_dir, "running")
    write_log(os.path.join(d, "log.h5"), "flowbp-lagrange", 7, base_config("flowbp-lagrange", 7, d, **lag),
              state="running", steps_done=40)
    d = os.path.join(main_dir, "failed")
    write_log(os.path.join(d, "log.h5"), "flowbp-lagrange", 8, base_config("flowbp-lagrange", 8, d, **lag),
              state="failed", steps_done=17, reason="non-finite loss (nan) at step 17", failed_step=17)
    d = os.path.join(main_dir, "schema99")
    write_log(os.path.join(d, "log.h5"), "flowbp-lagrange", 9, base_config("flowbp-lagrange", 9, d, **lag),
              schema_version=99)
    d = os.path.join(main_dir, "missing_column")
    write_log(os.path.join(d, "log.h5"), "flowbp-lagrange", 10, base_config("flowbp-lagrange", 10, d, **lag),
              drop_eval=("is_base",))
    d = os.path.join(main_dir, "truncated")
    write_log(os.path.join(d, "log.h5"), "flowbp-lagrange", 11, base_config("flowbp-lagrange", 11, d, **lag))
    with open(os.path.join(d, "log.h5"), "r+b") as fh:
        fh.truncate(os.path.getsize(os.path.join(d, "log.h5")) // 2)
    os.makedirs(os.path.join(main_dir, "corrupt"), exist_ok=True)
    with open(os.path.join(main_dir, "corrupt", "log.h5"), "wb") as fh:
        fh.write(np.random.default_rng(3).bytes(4096))

    for k, seeds in [(2, [0, 1]), (4, [0, 1]), (8, [0, 1]), (16, [0])]:
        for seed in seeds:
            d = os.path.join(out, "ablation", f"K{k}-s{seed}")
            write_log(os.path.join(d, "log.h5"), "flowbp-sparse", seed,
                      base_config("flowbp-sparse", seed, d, **{"method.K": k}), knob=k)

    for method in ["full-bp", "flowbp-sparse"]:
        for n_steps in [10, 20, 40]:
            for seed in [0, 1]:
                d = os.path.join(out, "memory", f"{method}-N{n_steps}-s{seed}")
                peak = n_steps * (1 << 20) if method == "full-bp" else 4 << 20
                cfg = base_config(method, seed, d, **{"method.K": 4})
                cfg["sampling.steps"] = n_steps
                write_log(os.path.join(d, "log.h5"), method, seed, cfg, knob=4, peak_bytes=peak,
                          r0_nan=(method == "full-bp"))

    # Two backbones: the 256-wide one's base model scores 0.1 more on every metric.
    for method, hidden, shift, key in [("flowbp-sparse", 128, 0.0, "00000000000000aa"),
                                       ("flowbp-sparse", 256, 0.1, "00000000000000bb"),
                                       ("refl", 256, 0.1, "00000000000000bb")]:
        for seed in [0, 1]:
            d = os.path.join(out, "backbones", f"{method}-h{hidden}-s{seed}")
            cfg = base_config(method, seed, d, **{"method.K": 4, "backbone.hidden": hidden,
                                                  "backbone.cache_dir": f"/cache/{hidden}"})
            write_log(os.path.join(d, "log.h5"), method, seed, cfg, knob=4, base_shift=shift,
                      backbone_cache_key=key, r0_nan=(method == "refl"))

    # sweeps/lagrange.toml's variants; every run records every method key (the resolved config).
    for v, (p, extra) in enumerate(LAGRANGE_VARIANTS):
        for seed in [1, 2]:
            d = os.path.join(out, "lagrange", f"v{v}-s{seed}")
            keys = {"method.K": 4, "method.P": p, "method.negative_weights": "error", "method.support_scale": 0.5,
                    "method.weights": "lagrange"}
            keys.update(extra)
            write_log(os.path.join(d, "log.h5"), "flowbp-lagrange", seed, base_config("flowbp-lagrange", seed, d, **keys),
                      knob=(p, v), zero_grad_every=(7 if seed == 1 else 0), rs_nan_odd=(p != 1), r0_spread=0.08)
            if p == 1:  # a single-velocity leap has no interior connector
                with h5py.File(os.path.join(d, "log.h5"), "r+") as f:
                    f["steps"]["r_s_mean"][...] = np.nan

    # Ablation deltas: K = 4 and 16 share K = 2's seeds (paired), K = 8 does not (Welch), K = 32 has one seed.
    for k, seeds in DELTA_SEEDS.items():
        for seed in seeds:
            d = os.path.join(out, "delta", f"K{k}-s{seed}")
            write_log(os.path.join(d, "log.h5"), "drtune", seed, base_config("drtune", seed, d, **{"method.K": k}),
                      knob=k, r0_nan=True)


    # The gradient-fidelity diagnostic.
    for method, seeds, draws in [("flowbp-lagrange", [0, 1, 2], 4), ("refl", [0, 1, 2], 0), ("full-bp", [0], 4)]:
        for seed in seeds:
            d = os.path.join(out, "fidelity", f"{method}-s{seed}")
            cfg = base_config(method, seed, d, **{"diagnostics.exact_grad_every": FIDELITY_EVERY,
                                                  "diagnostics.exact_grad_batch": 8, "diagnostics.plan_draws": draws})
            write_log(os.path.join(d, "log.h5"), method, seed, cfg,
                      r0_nan=(method != "flowbp-lagrange"), fidelity=draws)
    for seed in [0, 1]:  # logs written before the diagnostic: no columns, no key
        d = os.path.join(out, "fidelity", f"draft-lv-s{seed}")
        write_log(os.path.join(d, "log.h5"), "draft-lv", seed, base_config("draft-lv", seed, d), r0_nan=True)


LAGRANGE_VARIANTS = [(1, {}), (2, {}), (3, {}), (4, {"method.negative_weights": "reduce"}),
                     (3, {"method.weights": "uniform"}), (3, {"method.support_scale": 0.25}),
                     (3, {"method.support_scale": 1.0})]
DELTA_SEEDS = {2: [0, 1, 2], 4: [0, 1, 2], 8: [3, 4, 5], 16: [0, 1, 2], 32: [0]}


if __name__ == "__main__":
    main(sys.argv[1])
