#!/usr/bin/python3
"""The flowbp training iteration written the way a researcher would write it in
PyTorch: the reference `flowbp bench` times the C++ harness against.

Same toy velocity model (sinusoidal time features + condition embedding + SiLU
MLP), same cached no-grad rollout, same surrogate constructions (FlowBP-Sparse,
LeapAlign, FlowBP-Lagrange; docs/METHODS.md §2 and §5, first edition), same mode-preference reward,
hinge loss with trajectory weights, backward, gradient clipping, AdamW and EMA.

    reference.py --spec SPEC.json    # JSON result on stdout

SPEC "mode" is "bench" (time iterations, drawing indices as the method does) or
"check" (one iteration on given weights, noise and plan; prints loss and grads,
so a test can hold the C++ engine and this code to the same numbers).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ToyVelocityNet(nn.Module):
    def __init__(self, dim, classes, hidden, layers, time_embed):
        super().__init__()
        half = max(1, time_embed // 2)
        self.register_buffer("freqs", torch.exp(torch.linspace(0.0, math.log(100.0), half)))
        self.cond_embed = nn.Embedding(classes + 1, time_embed)
        self.hidden = nn.ModuleList()
        width = dim + 2 * half + time_embed
        for _ in range(layers):
            self.hidden.append(nn.Linear(width, hidden))
            width = hidden
        self.out = nn.Linear(width, dim)

    def forward(self, x, t, cond):
        angles = torch.full((x.shape[0],), t, dtype=torch.float32).unsqueeze(1) * self.freqs.unsqueeze(0)
        h = torch.cat([x, torch.sin(angles), torch.cos(angles), self.cond_embed(cond)], 1)
        for layer in self.hidden:
            h = F.silu(layer(h))
        return self.out(h)


def grad_scale(v, k):
    if k == 1.0:
        return v
    frozen = v.detach()
    return frozen + (v - frozen) * k


def connector(cached, estimate):
    return cached.detach() + (estimate - estimate.detach())


def residual(cached, estimate):
    with torch.no_grad():
        return (cached.double() - estimate.detach().double()).abs().reshape(cached.shape[0], -1).mean(1)


def reward_fn(x, cond, preferred_means, width):
    d2 = (x.unsqueeze(1) - preferred_means[cond]).pow(2).sum(-1)
    return 1 - (1 - torch.exp(d2 * (-0.5 / (width * width)))).prod(1)


# ---- index selection (docs/METHODS.md §4) -------------------------------------------

def late_biased(t, n, k, gamma, rng):
    idx = np.arange(1, n + 1)
    w = (1.0 - t[idx] + 1.0 / n) ** gamma
    return sorted(rng.choice(idx, size=k, replace=False, p=w / w.sum()).tolist(), reverse=True)


def dirichlet_leap(n, rng, alpha=(1.0, 1.0, 1.0)):
    p = rng.dirichlet(alpha)
    total = n - 1
    exact = p * total
    length = np.floor(exact).astype(int)
    order = sorted(range(3), key=lambda a: -(exact[a] - length[a]))
    k = 0
    while length.sum() < total:
        length[order[k % 3]] += 1
        k += 1
    if length[1] < 1:
        donor = 0 if length[0] >= length[2] else 2
        length[donor] -= 1
        length[1] += 1
    r_j = length[0]
    r_s = r_j + length[1]
    return n - r_j, n - r_s


def spread(frm, last, count):
    if count == 1:
        return [frm]
    out = []
    for p in range(count):
        i = frm - int(round(p * (frm - last) / (count - 1) + 1e-12))
        if not out or out[-1] != i:
            out.append(i)
    return out


def lagrange_weights(nodes, lo, hi):
    weights = []
    for p, node in enumerate(nodes):
        basis = np.poly1d([1.0])
        for q, other in enumerate(nodes):
            if q != p:
                basis = basis * np.poly1d([1.0, -other]) / (node - other)
        integral = np.polyint(basis)
        w = float(integral(hi) - integral(lo))
        weights.append(0.0 if -1e-12 * (hi - lo) < w < 0 else w)
    return weights


# ---- the surrogates (docs/METHODS.md §5) ------------------------------------------

class Runner:
    def __init__(self, spec, model):
        self.model = model
        self.n = spec["steps"]
        self.t = np.array([i / self.n for i in range(self.n + 1)])
        self.means = torch.tensor(spec["reward"]["preferred_means"], dtype=torch.float32)
        self.width = spec["reward"]["width"]
        self.tau = spec["reward"]["tau"]
        self.loss_scale = spec["reward"]["loss_scale"]
        self.floor = 0.1

    def dt(self, i):
        return self.t[i] - self.t[i - 1]

    def rollout(self, noise, cond):
        xs = [None] * (self.n + 1)
        vs = [None] * (self.n + 1)
        xs[self.n] = noise
        with torch.no_grad():
            for i in range(self.n, 0, -1):
                vs[i] = self.model(xs[i], self.t[i], cond)
                xs[i - 1] = xs[i] - vs[i] * self.dt(i)
        return xs, vs

    def plan(self, m, rng):
        if m["name"] == "flowbp-sparse":
            return {"active": late_biased(self.t, self.n, m["K"], m["late_bias_gamma"], rng)}
        j, s = dirichlet_leap(self.n, rng)
        plan = {"j": int(j), "s": int(s)}
        if m["name"] == "flowbp-lagrange":
            pre = spread(j, s + 1, m["P"])[1:]
            post = spread(s, 1, m["P"])[1:]
            others = pre + post
            rng.shuffle(others)
            plan["active"] = [j, s] + others[: m["K"] - 2]
        return plan

    def sparse(self, m, plan, xs, vs, cond):
        active = set(plan["active"])
        rho = 1 + m["grad_rescale_strength"] * (self.t[self.n] / sum(self.dt(i) for i in active) - 1)
        x = xs[self.n]
        for i in range(self.n, 0, -1):
            if i in active:
                v = grad_scale(self.model(xs[i].detach(), self.t[i], cond), rho)
            else:
                v = vs[i]
            x = x - v * self.dt(i)
        return connector(xs[0], x), None, None

    def leapalign(self, m, plan, xs, vs, cond):
        j, s = plan["j"], plan["s"]
        v_j = self.model(xs[j].detach(), self.t[j], cond)
        x_s_hat = xs[j] - v_j * (self.t[j] - self.t[s])
        d_s = residual(xs[s], x_s_hat)
        x_s = connector(xs[s], x_s_hat)
        v_s = self.model(grad_scale(x_s, m["beta"]), self.t[s], cond)
        x_0_hat = x_s - v_s * self.t[s]
        d_0 = residual(xs[0], x_0_hat)
        return connector(xs[0], x_0_hat), d_s, d_0

    def lagrange(self, m, plan, xs, vs, cond):
        j, s = plan["j"], plan["s"]
        active = set(plan["active"])
        leaps = []
        for frm, to, last in ((j, s, s + 1), (s, 0, 1)):
            supports = spread(frm, last, m["P"])
            weights = lagrange_weights([self.t[i] for i in supports], self.t[to], self.t[frm])
            if min(weights) < 0:
                raise ValueError("negative Lagrange weight in leap %d -> %d" % (frm, to))
            leaps.append((frm, to, supports, weights))
        total = sum(abs(w) for leap in leaps for w in leap[3])
        on = sum(abs(w) for leap in leaps for i, w in zip(leap[2], leap[3]) if i in active)
        rho = 1 + m["grad_rescale_strength"] * (total / on - 1)
        x = xs[j]
        residuals = []
        for frm, to, supports, weights in leaps:
            start = x
            for p, (i, w) in enumerate(zip(supports, weights)):
                if i not in active:
                    v = vs[i]
                elif p == 0:
                    inp = xs[i].detach() if frm == j else grad_scale(start, m["beta"])
                    v = grad_scale(self.model(inp, self.t[i], cond), rho)
                else:
                    v = grad_scale(self.model(xs[i].detach(), self.t[i], cond), m["support_scale"] * rho)
                x = x - v * w
            residuals.append(residual(xs[to], x))
            x = connector(xs[to], x)
        return x, residuals[0], residuals[1]

    def loss(self, m, plan, xs, vs, cond):
        build = {"flowbp-sparse": self.sparse, "leapalign": self.leapalign, "flowbp-lagrange": self.lagrange}
        x0, d_s, d_0 = build[m["name"]](m, plan, xs, vs, cond)
        r = reward_fn(x0, cond, self.means, self.width)
        w = torch.ones(x0.shape[0], dtype=torch.float64)
        if d_0 is not None:  # trajectory-similarity weighting of the connector methods
            w = 1.0 / (d_s.clamp_min(self.floor) + d_0.clamp_min(self.floor))
        return (F.relu(self.tau - r) * w.float()).mean() * self.loss_scale, r


# Settings the reference implements only at their first-edition values (the spec-v1
# preset, which flowbp bench runs); anything else is refused rather than silently
# benchmarked as something else.
DEFAULT_ONLY = {"leap_sampler": "dirichlet_v1", "alpha1": 1.0, "alpha2": 1.0, "alpha3": 1.0, "r_min": 0, "r_max": -1,
                "l1_max": -1, "weights": "lagrange", "trajectory_weighting": True,
                "trajectory_weighting_normalize": False, "residual_floor": 0.1, "grad_rescale_scope": "surrogate",
                "support_selection": "random", "rounding": "first_edition", "late_bias": "time",
                "late_bias_origin": "global"}


def check_settings(m):
    for key, want in DEFAULT_ONLY.items():
        if key in m and m[key] != want:
            raise SystemExit("reference.py: %s: %s = %r is not implemented here (only %r)" % (m["name"], key, m[key], want))


def flush_denormal():
    """Flush-to-zero, as the C++ trainer and bench set it: subnormal gradients (the reward
    underflowing far from every mode) otherwise slow the GEMMs down on some CPUs, which
    made this reference look slower than it is. FLOWBP_FLUSH_DENORMAL=0 keeps them."""
    if os.environ.get("FLOWBP_FLUSH_DENORMAL") == "0":
        torch.set_flush_denormal(False)
        return False
    return bool(torch.set_flush_denormal(True))


def make_model(spec):
    return ToyVelocityNet(spec["dim"], spec["classes"], spec["hidden"], spec["layers"], spec["time_embed"])


def bench(spec):
    flushed = flush_denormal()  # before the thread pools start
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(spec.get("seed", 0))
    rng = np.random.default_rng(spec.get("seed", 0))
    tr = spec["train"]
    results = {}
    for m in spec["methods"]:
        check_settings(m)
        model = make_model(spec)
        ema = make_model(spec)
        ema.load_state_dict(model.state_dict())
        for p in ema.parameters():
            p.requires_grad_(False)
        opt = torch.optim.AdamW(model.parameters(), lr=tr["lr"], weight_decay=tr["weight_decay"])
        run = Runner(spec, model)
        rows = []
        for it in range(spec["warmup"] + spec["iters"]):
            c0 = time.process_time()
            t0 = time.perf_counter()
            cond = torch.randint(spec["classes"], (spec["batch"],))
            noise = torch.randn(spec["batch"], spec["dim"])
            xs, vs = run.rollout(noise, cond)
            t1 = time.perf_counter()
            plan = run.plan(m, rng)
            t2 = time.perf_counter()
            loss, r = run.loss(m, plan, xs, vs, cond)
            loss_value, reward_mean = loss.item(), r.mean().item()
            t3 = time.perf_counter()
            opt.zero_grad()
            loss.backward()
            t4 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tr["max_grad_norm"])
            opt.step()
            decay = min(tr["ema_decay"], (1.0 + it) / (10.0 + it))
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), model.parameters()):
                    pe.mul_(decay).add_(p, alpha=1 - decay)
            t5 = time.perf_counter()
            c5 = time.process_time()
            if not math.isfinite(loss_value) or not math.isfinite(reward_mean):
                raise RuntimeError("non-finite loss in the reference")
            if it >= spec["warmup"]:
                rows.append({"rollout": t1 - t0, "plan": t2 - t1, "surrogate_forward": t3 - t2,
                             "backward": t4 - t3, "optimizer": t5 - t4, "step": t5 - t0,
                             "step_cpu": c5 - c0})
        results[m["name"]] = rows
    return {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "flush_denormal": flushed,
            "methods": results}


def check_case(case):
    check_settings(case["method"])
    model = make_model(case)
    state = {name: torch.tensor(p["data"], dtype=torch.float32).reshape(p["shape"])
             for name, p in case["params"].items()}
    state["freqs"] = model.freqs
    model.load_state_dict(state)
    run = Runner(case, model)
    noise = torch.tensor(case["noise"], dtype=torch.float32)
    cond = torch.tensor(case["cond"], dtype=torch.long)
    xs, vs = run.rollout(noise, cond)
    loss, _ = run.loss(case["method"], case["plan"], xs, vs, cond)
    loss.backward()
    grads = {name: (p.grad.reshape(-1).tolist() if p.grad is not None else [0.0] * p.numel())
             for name, p in model.named_parameters()}
    return {"loss": loss.item(), "x0": xs[0].reshape(-1).tolist(), "grads": grads}


def check(spec):
    """One iteration per case on given weights, noise and plan: loss and gradients."""
    flushed = flush_denormal()
    torch.set_num_threads(spec.get("threads", 1))
    return {"torch_version": torch.__version__, "flush_denormal": flushed,
            "cases": [check_case(case) for case in spec["cases"]]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="JSON spec written by flowbp bench (or a test)")
    args = parser.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    out = bench(spec) if spec["mode"] == "bench" else check(spec)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
