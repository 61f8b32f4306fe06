"""FID and diversity of the C++ metrics against an independent numpy/scipy
computation (pytorch-fid's formula with scipy.linalg.sqrtm; scipy's pdist), on the
Gaussian features metrics_dump writes. Usage: check_metrics.py METRICS_DUMP."""
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import linalg
from scipy.spatial.distance import pdist


def fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "metrics.txt")
        subprocess.run([sys.argv[1], out], check=True)
        lines = open(out).read().split("\n")
    n, d = map(int, lines[0].split())
    rows = [list(map(float, l.split())) for l in lines[1:1 + 2 * n]]
    a, b = np.array(rows[:n]), np.array(rows[n:])
    labels = np.array(list(map(int, lines[1 + 2 * n].split())))
    got = dict((k, float(v)) for k, v in (l.split() for l in lines[2 + 2 * n:] if l.strip()))
    want = {
        "fid": fid(a, b),
        "diversity": float(np.mean([pdist(a[labels == k]).mean() for k in np.unique(labels)
                                    if (labels == k).sum() >= 2])),
        "pairwise": float(pdist(b).mean()),
    }
    failed = False
    for key, value in want.items():
        ok = abs(got[key] - value) <= 1e-8 * max(1.0, abs(value))
        print(f"{key}: C++ {got[key]:.12g}  numpy/scipy {value:.12g}  {'ok' if ok else 'MISMATCH'}")
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
