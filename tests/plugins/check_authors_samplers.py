#!/usr/bin/python3
"""The plugins' index draws against the authors' functions (docs/METHODS.md §4-5).

    check_authors_samplers.py PLAN_DRAWS PLUGIN.so...

Deterministic cores (the Dirichlet layout from given proportions, the leap window, the
midpoint rules, Lagrange's supports, Bridge's budget split) must equal
authors_samplers.py exactly on a grid of inputs; the plugins' draws must match the exact
distribution of the authors' rule (or a large Monte Carlo of it) by a chi-squared test at
p > 1e-3 (fixed seeds: the outcome is deterministic). A negative control (the first
edition's Dirichlet layout) must fail the same test.
"""
import os
import subprocess
import sys

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import authors_samplers as A  # noqa: E402

HELPER = sys.argv[1]
PLUGINS = {os.path.basename(p)[len("flowbp_method_"):-len(".so")].replace("_", "-"): p for p in sys.argv[2:]}
P_MIN = 1e-3
failures = []


def fail(what):
    failures.append(what)
    print("FAIL: " + what)


def helper(mode, args, lines):
    out = subprocess.run([HELPER, mode] + [str(a) for a in args], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def draws(method, n, count, seed, **settings):
    """Each plan as (j, s, m, actives, [actives per segment])."""
    args = ["draws", PLUGINS[method], n, 1.0, count, seed] + ["%s=%s" % kv for kv in settings.items()]
    out = subprocess.run([HELPER] + [str(a) for a in args], capture_output=True, text=True, check=True)
    plans = []
    for line in out.stdout.splitlines():
        head, actives, segments = line.split("|")
        j, s, m = (int(x) for x in head.split())
        plans.append((j, s, m, tuple(int(x) for x in actives.split()),
                      [tuple(int(x) for x in seg.split()) for seg in segments.split(";")]))
    return plans


def merged(expected, observed, minimum=5.0):
    """Cells with expected count < minimum pooled into one, so the chi-squared test holds."""
    big = [k for k in expected if expected[k] >= minimum]
    small = [k for k in expected if expected[k] < minimum]
    e = [expected[k] for k in big] + ([sum(expected[k] for k in small)] if small else [])
    o = [observed.get(k, 0) for k in big] + ([sum(observed.get(k, 0) for k in small)] if small else [])
    return np.array(o, float), np.array(e, float)


def chi2_exact(name, outcomes, distribution):
    """Goodness of fit of observed outcomes against an exact distribution."""
    total = len(outcomes)
    observed = {}
    for x in outcomes:
        observed[x] = observed.get(x, 0) + 1
    impossible = [x for x in observed if distribution.get(x, 0.0) == 0.0]
    if impossible:
        fail("%s: outcomes the authors' rule never produces, e.g. %r" % (name, impossible[:3]))
        return 0.0
    o, e = merged({k: p * total for k, p in distribution.items()}, observed)
    p = stats.chisquare(o, e * (o.sum() / e.sum())).pvalue if len(o) > 1 else 1.0
    print("%-58s %7d draws %5d cells  p = %.4f" % (name, total, len(o), p))
    if p < P_MIN:
        fail("%s: chi-squared p = %.2e against the authors' distribution" % (name, p))
    return p


def chi2_two_sample(name, outcomes, reference, expect_reject=False):
    """Homogeneity of the plugin's outcomes and a large sample of the authors' rule."""
    a, b = {}, {}
    for x in outcomes:
        a[x] = a.get(x, 0) + 1
    for x in reference:
        b[x] = b.get(x, 0) + 1
    n_a, n_b = len(outcomes), len(reference)
    keys = set(a) | set(b)
    # Pool cells whose expected count in the smaller sample is below 5.
    big = [k for k in keys if (a.get(k, 0) + b.get(k, 0)) * min(n_a, n_b) / (n_a + n_b) >= 5]
    small = [k for k in keys if k not in big]
    table = [[a.get(k, 0) for k in big], [b.get(k, 0) for k in big]]
    if small:
        table[0].append(sum(a.get(k, 0) for k in small))
        table[1].append(sum(b.get(k, 0) for k in small))
    p = stats.chi2_contingency(np.array(table))[1]
    print("%-58s %7d vs %d  %5d cells  p = %.3g" % (name, n_a, n_b, len(table[0]), p))
    if expect_reject and p > 1e-6:
        fail("%s: the negative control was not rejected (p = %.2e)" % (name, p))
    if not expect_reject and p < P_MIN:
        fail("%s: chi-squared p = %.2e against the authors' rule" % (name, p))
    return p


# ---- deterministic cores -----------------------------------------------------------------

def check_cores():
    rng = np.random.default_rng(7)
    props = [np.array([a, b, c], np.float32) / np.float32(a + b + c)
             for a in range(1, 13) for b in range(1, 13) for c in range(1, 13)]
    props += [p for p in rng.dirichlet([2.5, 6.0, 2.0], 3000).astype(np.float32)]
    props += [p for p in rng.dirichlet([0.2, 0.2, 0.2], 3000).astype(np.float32)]
    props = [(p / p.sum(dtype=np.float32)).astype(np.float32) for p in props]
    lines = ["%r %r %r" % tuple(float(x) for x in p) for p in props]
    checked = 0
    for lo, hi, cap in [(1, 26, -1), (1, 26, 10), (1, 19, -1), (3, 20, 7), (1, 4, -1), (2, 12, 2), (1, 51, 10)]:
        got = helper("layout", [lo, hi, cap], lines)
        for p, line in zip(props, got):
            lengths, truncated, s, j = A.dirichlet_layout(p, lo, hi, cap)
            want = "%d %d %d %d %d %d" % (lengths[0], lengths[1], lengths[2], int(truncated), s, j)
            if line != want:
                fail("dirichlet_layout(%r, [%d, %d), cap %d): harness %s, authors %s" % (p.tolist(), lo, hi, cap, line, want))
                break
            checked += 1
    print("Dirichlet layout from given proportions: %d cases equal" % checked)

    queries = [(f, t, p) for f in range(1, 61) for t in range(1, f + 1) for p in range(1, 7)]
    got = helper("supports", [], ["%d %d %d" % q for q in queries])
    bad = [(q, g) for q, g in zip(queries, got) if g != " ".join(map(str, A.interval_supports(*q)))]
    if bad:
        fail("Lagrange supports differ, e.g. %r: harness %s, authors %s" % (bad[0][0], bad[0][1], A.interval_supports(*bad[0][0])))
    print("Lagrange supports: %d (from, to, P) equal" % (len(queries) - len(bad)))

    queries = [(k, a, b) for k in range(2, 13) for a in range(1, 16) for b in range(1, 16)]
    got = helper("split", [], ["%d %d %d" % q for q in queries])
    bad = [(q, g) for q, g in zip(queries, got) if g != "%d %d" % A.bridge_split(*q)]
    if bad:
        fail("Bridge split differs, e.g. %r: harness %s, authors %r" % (bad[0][0], bad[0][1], A.bridge_split(*bad[0][0])))
    print("Bridge budget split: %d (K, pre, post) equal" % (len(queries) - len(bad)))

    for mode, rule, draws_of in (("midpoint", A.midpoint_pair, lambda n: range(2, n + 1)),
                                 ("midpoint_j", A.midpoint_j_pair, lambda n: range(1, n))):
        queries = [(n, i) for n in range(3, 41) for i in draws_of(n)]
        got = helper(mode, [], ["%d %d" % q for q in queries])
        bad = [(q, g) for q, g in zip(queries, got) if g != "%d %d" % tuple(reversed(rule(*q)))]
        if bad:
            fail("%s differs, e.g. %r: harness %s" % (mode, bad[0][0], bad[0][1]))
        print("%s from its draw: %d cases equal" % (mode, len(queries) - len(bad)))

    queries = [(n, lo, hi, r) for n in range(2, 31) for lo in range(1, 5) for hi in [-1] + list(range(4, 32, 3))
               for r in (1.0, 0.7, 0.5, 0.2)]
    got = helper("window", [], ["%d %d %d %r" % q for q in queries])
    bad = []
    for q, g in zip(queries, got):
        w = A.leap_window(q[0], q[1], q[2], q[3])
        if g != ("error" if w is None else "%d %d" % w):
            bad.append((q, g, w))
    if bad:
        fail("leap window differs, e.g. %r: harness %s, authors %r" % bad[0])
    print("leap window [i_min, i_max) with tail ratio: %d cases equal" % (len(queries) - len(bad)))


# ---- distributions of the plugins' draws --------------------------------------------------

def check_leap_samplers():
    pairs = lambda plans: [(s, j) for j, s, _, _, _ in plans]  # noqa: E731
    chi2_exact("leapalign default (uniform), N=25",
               pairs(draws("leapalign", 25, 60000, 1)), A.uniform_pair_distribution(1, 26))
    chi2_exact("leapalign uniform, s_max=5, N=12",
               pairs(draws("leapalign", 12, 30000, 2, s_max=5)), A.uniform_pair_distribution(1, 13, 5))
    chi2_exact("leapalign midpoint, N=25",
               pairs(draws("leapalign", 25, 20000, 3, leap_sampler="midpoint")), A.midpoint_distribution(25, 1, 26))
    chi2_exact("leapalign midpoint_j, tail_ratio=0.7, N=25",
               pairs(draws("leapalign", 25, 20000, 4, leap_sampler="midpoint_j", tail_ratio=0.7)),
               A.midpoint_j_distribution(25, *A.leap_window(25, 1, -1, 0.7)))

    rng = np.random.default_rng(11)
    cases = [
        ("flowbp-lagrange default: Dirichlet(2.5, 6, 2), s_max=10, N=25", "flowbp-lagrange", 25, {},
         (2.5, 6.0, 2.0), (1, 26), 10),
        ("flowbp-lagrange authors-flux2: tail 0.7, no cap, N=25", "flowbp-lagrange", 25, {"preset": "authors-flux2"},
         (2.5, 6.0, 2.0), (1, 19), -1),
        ("leapalign dirichlet (4.2 x 3), i_min=2, N=10", "leapalign", 10, {"leap_sampler": "dirichlet", "i_min": 2},
         (4.2, 4.2, 4.2), (2, 11), -1),
        ("flowbp-bridge dirichlet (1, 3, 0.5), s_max=4, N=16: s only", "flowbp-bridge", 16,
         {"leap_sampler": "dirichlet", "alpha1": 1.0, "alpha2": 3.0, "alpha3": 0.5, "s_max": 4},
         (1.0, 3.0, 0.5), (1, 17), 4),
    ]
    for name, method, n, settings, alpha, window, cap in cases:
        plans = draws(method, n, 60000, 5, **settings)
        s_ref, j_ref = A.dirichlet_pairs(rng, 2000000, alpha, window[0], window[1], cap)
        if method == "flowbp-bridge":  # j = N: only s is the sampler's
            chi2_two_sample(name, [s for _, s, _, _, _ in plans], s_ref.tolist())
        else:
            chi2_two_sample(name, pairs(plans), list(zip(s_ref.tolist(), j_ref.tolist())))
        if method == "flowbp-lagrange":  # the authors' active rule on every drawn leap
            bad = [p for p in plans if list(p[3]) != A.lagrange_actives(p[0], p[1])]
            if bad:
                fail("%s: active supports differ from the authors' midpoint rule, e.g. j=%d s=%d: %r vs %r"
                     % (name, bad[0][0], bad[0][1], bad[0][3], A.lagrange_actives(bad[0][0], bad[0][1])))

    # Negative control: the first edition's layout (from the noise end) with the same
    # concentrations is a different distribution, and the test sees it.
    plans = draws("flowbp-lagrange", 25, 60000, 6, preset="spec-v1", alpha1=2.5, alpha2=6.0, alpha3=2.0,
                  support_selection="midpoint")
    s_ref, j_ref = A.dirichlet_pairs(rng, 2000000, (2.5, 6.0, 2.0), 1, 26, None)
    chi2_two_sample("negative control: dirichlet_v1 vs the authors' Dirichlet", pairs(plans),
                    list(zip(s_ref.tolist(), j_ref.tolist())), expect_reject=True)


def check_active_sets():
    chi2_exact("flowbp-sparse K=3, gamma=2, N=8",
               [frozenset(p[3]) for p in draws("flowbp-sparse", 8, 40000, 7, K=3, late_bias_gamma=2.0)],
               A.sparse_distribution(8, 3, 2.0))
    chi2_exact("flowbp-sparse K=2, gamma=1, N=10 (authors-sd35 gamma)",
               [frozenset(p[3]) for p in draws("flowbp-sparse", 10, 40000, 8, K=2, late_bias_gamma=1.0)],
               A.sparse_distribution(10, 2, 1.0))
    for name, n, settings, tail in (("flowbp-bridge K=3, gamma=4, N=8", 8, {"K": 3}, 1.0),
                                    ("flowbp-bridge K=4, gamma=2, tail 0.75, N=8", 8,
                                     {"K": 4, "late_bias_gamma": 2.0, "tail_ratio": 0.75}, 0.75)):
        gamma = settings.get("late_bias_gamma", 4.0)
        plans = draws("flowbp-bridge", n, 60000, 9, **settings)
        outcomes = [(p[1], p[4][0], p[4][1]) for p in plans]
        window = A.leap_window(n, 1, -1, tail)
        chi2_exact(name, outcomes, A.bridge_distribution(n, settings["K"], gamma,
                                                         A.uniform_pair_distribution(*window), tail))


def check_stop_and_train_steps():
    def outcomes(plans, if_train_step):
        out = []
        for _, _, m, _, segments in plans:
            train = [i for seg in segments[:-1] for i in seg]
            if if_train_step:  # the Tweedie velocity is active exactly when m is a train step
                train += list(segments[-1])
            out.append((m, tuple(sorted(train, reverse=True))))
        return out
    chi2_exact("drtune authors (train steps over {m..N}), K=3, N=12",
               outcomes(draws("drtune", 12, 40000, 10, train_span="from_stop", tweedie_velocity="if_train_step"), True),
               A.drtune_distribution(12, 3, 0.4, from_stop=True))
    chi2_exact("drtune default (over {m+1..N}), K=3, N=12",
               outcomes(draws("drtune", 12, 40000, 11), False), A.drtune_distribution(12, 3, 0.4, from_stop=False))
    chi2_exact("drtune authors, K=4, ratio 0.9, N=6 (spans no longer than K)",
               outcomes(draws("drtune", 6, 40000, 12, K=4, early_stop_ratio=0.9, train_span="from_stop",
                              tweedie_velocity="if_train_step"), True),
               A.drtune_distribution(6, 4, 0.9, from_stop=True))
    chi2_exact("refl authors-sd35 (W=11), N=25", [p[3] for p in draws("refl", 25, 20000, 13, preset="authors-sd35")],
               {(k,): 1.0 / 11 for k in range(1, 12)})


check_cores()
check_leap_samplers()
check_active_sets()
check_stop_and_train_steps()
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("authors' samplers: ok")
