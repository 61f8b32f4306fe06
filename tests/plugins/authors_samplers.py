"""Our own numpy re-implementation of the index rules in the FlowBP authors' code
(GitHub RuoyuWang-2077/FlowBP at 93b220ad), written from a reading of their
common/jk_sampling.py, common/rollout_window.py, common/flowbp_lagrange_utils.py and
their SD3.5 FlowBP-Sparse/Bridge and DRTune trainers, for check_authors_samplers.py.

Indices are the harness's: i = 0 is the clean sample, i = N the noise; their "reverse
index" is our i, their forward index is N - i, their (k, j) leap pair is our (j, s).

Their random numbers come from torch generators, which numpy cannot reproduce bit for
bit, so each rule is given twice: a deterministic core that takes the random quantities
as arguments (compared exactly with the harness), and either the exact distribution of
its output (by enumeration) or a vectorised Monte Carlo of it (compared with the
harness's draws by a chi-squared test).
"""
import itertools
import math

import numpy as np


def round_half_even(x):
    """Python's round(): ties to even."""
    return int(round(x))


# ---- windows ---------------------------------------------------------------------------

def tail_top(n, tail_ratio=1.0, min_window=3):
    """The top index W of the trainable tail (their resolve_train_step_window)."""
    floor = max(1, min(min_window, n))
    return min(n, max(floor, int(math.ceil(n * tail_ratio))))


def leap_window(n, i_min=1, i_max=None, tail_ratio=1.0):
    """[lo, hi) of a leap (their make_jk_window_args with min_span 3); None if too small."""
    lo = max(i_min, 1)
    hi = min(n + 1 if i_max is None or i_max < 0 else i_max, tail_top(n, tail_ratio) + 1)
    return (lo, hi) if hi - lo >= 3 else None


# ---- the Dirichlet sampler -------------------------------------------------------------

def dirichlet_layout(props, lo, hi, s_max=None):
    """Lengths, truncated flag and (s, j) from float32 proportions (their _dirichlet_sample
    after the gamma draw)."""
    n = hi - lo
    p = np.asarray(props, dtype=np.float32)
    lengths = [round_half_even(float(np.float32(p[k] * np.float32(n)))) for k in range(3)]
    lengths[int(np.argmax(p))] += n - sum(lengths)
    lengths = [max(1, l) for l in lengths]
    if sum(lengths) != n:
        lengths[int(np.argmax(lengths))] += n - sum(lengths)
    truncated = False
    if s_max is not None and s_max >= 0:
        cap = max(1, s_max - lo)
        if lengths[0] > cap:
            lengths[2] += lengths[0] - cap
            lengths[0] = cap
            truncated = True
    s = lo + lengths[0]
    return lengths, truncated, s, s + lengths[1]


def dirichlet_pairs(rng, size, alpha, lo, hi, s_max=None):
    """Vectorised Monte Carlo of (s, j): the same rule on `size` float32 proportions."""
    n = hi - lo
    g = rng.standard_gamma(np.asarray(alpha, dtype=np.float64), size=(size, 3)).astype(np.float32)
    p = (g / g.sum(axis=1, keepdims=True, dtype=np.float32)).astype(np.float32)
    lengths = np.round((p * np.float32(n)).astype(np.float32)).astype(np.int64)  # numpy rounds ties to even
    rows = np.arange(size)
    lengths[rows, np.argmax(p, axis=1)] += n - lengths.sum(axis=1)
    lengths = np.maximum(lengths, 1)
    lengths[rows, np.argmax(lengths, axis=1)] += n - lengths.sum(axis=1)
    if s_max is not None and s_max >= 0:
        cap = max(1, s_max - lo)
        over = np.maximum(lengths[:, 0] - cap, 0)
        lengths[:, 0] -= over
        lengths[:, 2] += over
    s = lo + lengths[:, 0]
    return s, s + lengths[:, 1]


# ---- uniform and midpoint samplers: exact distributions --------------------------------

def uniform_pair_distribution(lo, hi, s_max=None):
    """{(s, j): probability} of their _uniform_sample."""
    out = {}
    if s_max is None or s_max < 0:
        pairs = list(itertools.combinations(range(lo, hi), 2))
        for s, j in pairs:
            out[(s, j)] = 1.0 / len(pairs)
        return out
    s_hi = min(s_max, hi - 2)
    for s in range(lo, s_hi + 1):
        for j in range(s + 1, hi):
            out[(s, j)] = 1.0 / (s_hi - lo + 1) / (hi - 1 - s)
    return out


def midpoint_pair(n, j):
    """(s, j) of their _midpoint_sample given its draw j (their k_rev)."""
    k_fwd = n - j
    s_fwd = (k_fwd + n) // 2
    if s_fwd <= k_fwd:
        s_fwd = k_fwd + 1
    return n - s_fwd, j


def midpoint_j_pair(n, s):
    """(s, j) of their _midpoint_j_sample given its draw s (their j_rev)."""
    s_fwd = n - s
    j_fwd = min(max(s_fwd // 2, 0), s_fwd - 1)
    return s, n - j_fwd


def midpoint_distribution(n, lo, hi):
    js = range(lo + 1, hi)
    return {midpoint_pair(n, j): 1.0 / len(js) for j in js}


def midpoint_j_distribution(n, lo, hi):
    ss = range(lo, hi - 1)
    return {midpoint_j_pair(n, s): 1.0 / len(ss) for s in ss}


# ---- late-biased draws (torch.multinomial without replacement) --------------------------

def late_biased_distribution(candidates, weights, k):
    """{frozenset: probability} of k draws without replacement proportional to weights
    (the distribution of torch.multinomial(..., replacement=False)), by enumerating the
    ordered sequences."""
    if k >= len(candidates):
        return {frozenset(candidates): 1.0}
    w = dict(zip(candidates, weights))
    out = {}
    for seq in itertools.permutations(candidates, k):
        prob, left = 1.0, float(sum(weights))
        for c in seq:
            prob *= w[c] / left
            left -= w[c]
        key = frozenset(seq)
        out[key] = out.get(key, 0.0) + prob
    return out


def steps_weights(candidates, origin, gamma):
    """(origin - i + 1)^gamma: the offset in steps from the segment's first candidate."""
    return [float(origin - i + 1) ** gamma for i in candidates]


def sparse_distribution(n, k, gamma):
    """FlowBP-Sparse's active set over {1..N} (their weight (f + 1)^gamma, f = N - i)."""
    cands = list(range(1, n + 1))
    return late_biased_distribution(cands, steps_weights(cands, n, gamma), k)


# ---- FlowBP-Bridge ---------------------------------------------------------------------

def bridge_split(k, pre_len, post_len):
    """Their _allocate_flowbp_bridge_active_counts."""
    k = min(k, pre_len + post_len)
    pre = min(max(round_half_even(k * pre_len / float(pre_len + post_len)), 1), pre_len)
    post = k - pre
    if post < 1:
        post, pre = 1, k - 1
    if post > post_len:
        post = post_len
        pre = k - post
    pre = min(max(pre, 1), pre_len)
    post = min(max(post, 1), post_len)
    missing = k - pre - post
    if missing > 0:
        add = min(missing, pre_len - pre)
        pre += add
        missing -= add
    if missing > 0:
        post += min(missing, post_len - post)
    return pre, post


def bridge_distribution(n, k, gamma, pair_distribution, tail_ratio=1.0):
    """{(s, pre actives, post actives): probability} of FlowBP-Bridge: s from the pair
    sampler, the split, pre actives late-biased over {s+1..W} counted from W, the post
    anchor s plus late-biased actives over {1..s-1} counted from s - 1."""
    top = tail_top(n, tail_ratio)
    s_prob = {}
    for (s, _j), p in pair_distribution.items():
        s_prob[s] = s_prob.get(s, 0.0) + p
    out = {}
    for s, ps in s_prob.items():
        pre_k, post_k = bridge_split(k, top - s, s)
        pre_c = list(range(s + 1, top + 1))
        post_c = list(range(1, s))
        pre_d = late_biased_distribution(pre_c, steps_weights(pre_c, top, gamma), pre_k)
        post_d = ({frozenset(): 1.0} if post_k <= 1 else
                  late_biased_distribution(post_c, steps_weights(post_c, s - 1, gamma), post_k - 1))
        for a, pa in pre_d.items():
            for b, pb in post_d.items():
                key = (s, tuple(sorted(a, reverse=True)), tuple(sorted(b | {s}, reverse=True)))
                out[key] = out.get(key, 0.0) + ps * pa * pb
    return out


# ---- DRTune ----------------------------------------------------------------------------

def drtune_stride(span, k):
    """(stride, largest start) of their _sample_equally_spaced_train_indices."""
    stride = max(1, span // k)
    max_start = span - 1 - (k - 1) * stride
    if max_start < 0:
        stride = max(1, (span - 1) // max(1, k - 1))
        max_start = span - 1 - (k - 1) * stride
    return stride, max(0, max_start)


def drtune_spaced(span, k, start):
    """Their train positions counted from the noise end, with the start given (all of the
    span, without a draw, when k >= span)."""
    k = min(k, span)
    if k == span:
        return list(range(span))
    stride, _ = drtune_stride(span, k)
    return [start + p * stride for p in range(k)]


def drtune_distribution(n, k, ratio, from_stop=True):
    """{(m, train steps): probability}; from_stop: the authors' span {m..N}, else {m+1..N}."""
    window = round_half_even(n * ratio)
    window = min(window, n if from_stop else n - 1)
    stops = [1] if window <= 0 else list(range(1, window + 1))
    out = {}
    for m in stops:
        span = n - m + 1 if from_stop else n - m
        kk = min(k, span)
        if kk == span:
            starts = [(list(range(span)), 1.0)]
        else:
            _, max_start = drtune_stride(span, kk)
            starts = [(drtune_spaced(span, kk, st), 1.0 / (max_start + 1)) for st in range(max_start + 1)]
        for positions, p in starts:
            key = (m, tuple(sorted((n - q for q in positions), reverse=True)))
            out[key] = out.get(key, 0.0) + p / len(stops)
    return out


# ---- FlowBP-Lagrange supports and active rules ------------------------------------------

def linspace_f32(start, end, steps):
    """torch.linspace on the CPU in float32 (first half counted up, second half down)."""
    start, end = np.float32(start), np.float32(end)
    if steps == 1:
        return [start]
    step = np.float32((end - start) / np.float32(steps - 1))
    return [start + step * np.float32(i) if i < steps // 2 else end - step * np.float32(steps - 1 - i)
            for i in range(steps)]


def interval_supports(frm, to_inclusive, points):
    """Their _select_interval_support_indices, anchor first, in our indices."""
    interval = list(range(frm, to_inclusive - 1, -1))
    if len(interval) <= points:
        return interval
    out = []
    for p, pos in enumerate(linspace_f32(0, len(interval) - 1, points)):
        idx = frm if p == 0 else interval[round_half_even(float(pos))]
        if idx not in out:
            out.append(idx)
    return out


def active_supports(supports, mode="midpoint", max_active=2):
    """Their _select_active_support_indices for the modes the harness offers."""
    if mode == "start":
        chosen = supports[:1]
    elif mode == "midpoint":
        chosen = supports[:2] if len(supports) > 1 else supports[:1]
    elif mode == "all":
        chosen = list(supports)
    else:
        raise ValueError(mode)
    return chosen[:max_active] if max_active and max_active > 0 else chosen


def lagrange_actives(j, s, points=3, mode="midpoint", max_active=2):
    """The active indices of one FlowBP-Lagrange plan, descending."""
    pre = interval_supports(j, s + 1, points)
    post = interval_supports(s, 1, points)
    return sorted(set(active_supports(pre, mode, max_active)) | set(active_supports(post, mode, max_active)),
                  reverse=True)
