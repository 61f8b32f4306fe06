#!/usr/bin/env python3
"""The image study end to end with the real executable and plugins (docs/IMAGES.md):
every method trains 3 steps on the `tiny` DiT through `flowbp train`; the logs hold the
image metrics (fid lower-is-better) and /samples grids drawn from the same noise;
`flowbp report` draws the sample grid PNG (checked byte for byte against the logs) and
puts the image metrics into Table 2; bf16 autocast, the second reward kind and the
any-shape reward run; `flowbp backbones/rewards/pretrain` know the kinds; every bad input gives its
error before anything runs.

    check_image_study.py FLOWBP_EXE   (FLOWBP_PLUGIN_PATH set by meson)
"""
import contextlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import h5py
import numpy as np

METHODS = ["refl", "draft-lv", "drtune", "leapalign", "flowbp-sparse", "flowbp-bridge", "flowbp-lagrange", "full-bp"]
DATA = "/usr/share/datasets/fashion-mnist"
TINY = """
[backbone]
kind = "dit"
size = "tiny"
data_dir = "{data}"

[sampling]
steps = 8
guidance = 2.0

[reward]
kind = "classifier"
tau = 0.0

[train]
steps = 3
batch = 2
eval_every = 0
checkpoint_every = 0

[eval]
steps = 4
samples_per_condition = 2
"""

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(exe, *args, env=None):
    p = subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=600)
    return p.returncode, p.stdout + p.stderr


def read_png(path):
    """(width, height, colour type, pixels as rows of bytes) of an 8-bit, filter-0 PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: no PNG signature"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert zlib.crc32(kind + body) == crc, f"{path}: bad CRC in {kind}"
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = ihdr[0], ihdr[1], ihdr[2], ihdr[3]
    assert depth == 8
    channels = 1 if colour == 0 else 3
    raw = zlib.decompress(idat)
    line = width * channels
    rows = [raw[y * (line + 1) + 1:(y + 1) * (line + 1)] for y in range(height)]
    assert all(raw[y * (line + 1)] == 0 for y in range(height)), "filter bytes other than 0"
    return width, height, colour, np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(height, width, channels)


def main():
    exe = os.path.abspath(sys.argv[1])
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print(f"SKIP: Fashion-MNIST is not installed ({DATA}; apt-get install dataset-fashion-mnist)")
        return 77
    tmp = tempfile.mkdtemp(prefix="flowbp-image-study-")
    env = dict(os.environ, FLOWBP_CACHE_DIR=os.path.join(tmp, "cache"))
    exp = os.path.join(tmp, "tiny.toml")
    open(exp, "w").write(TINY.format(data=DATA))
    runs = os.path.join(tmp, "runs")

    rc, out = run(exe, "backbones", env=env)
    check(rc == 0 and "dit" in out, f"flowbp backbones lists dit: {out}")
    rc, out = run(exe, "rewards", env=env)
    check(rc == 0 and all(k in out for k in ("classifier", "ink", "latent-target")), f"flowbp rewards: {out}")

    # The models once, before the runs: the tiny DiT pre-trains (seconds), the classifiers
    # come verified from the shipped files (pretrained/) or are trained.
    # pretrain reads its options like train: each mistake exits 2 with its message, building nothing.
    for args, needle in [(["--thraeds", "1"], "unknown option --thraeds (did you mean '--threads'?)"),
                         (["--set", "train.lr=1", "--set", "train.lr=2"], "train.lr is given twice"),
                         (["--threads", "100000"], "--threads = 100000"),
                         (["--cache-dir", exp], "exists and is not a directory")]:
        rc, out = run(exe, "pretrain", exp, "--quiet", *args, env=env)
        check(rc == 2 and needle in out, f"flowbp pretrain {args}: rc {rc}: {out[-800:]}")
    rc, out = run(exe, "pretrain", exp, "--quiet", env=env)
    check(rc == 0 and "ready in" in out and "cached at" in out, f"flowbp pretrain: rc {rc}: {out}")
    rc, out = run(exe, "pretrain", exp, "--quiet", env=env)
    check(rc == 0 and "DiT tiny" in out and "loaded" in out and "cached at" not in out,
          f"flowbp pretrain again loads: {out}")

    for m in METHODS:
        rc, out = run(exe, "train", exp, "--method", m, "--name", m, "--out", runs, "--quiet", env=env)
        check(rc == 0, f"{m}: flowbp train rc {rc}: {out[-2000:]}")

    base_grid = None
    for m in METHODS:
        path = os.path.join(runs, m, "log.h5")
        if not os.path.exists(path):
            continue
        with h5py.File(path, "r") as f:
            names = list(f["eval"].keys())
            check(names == ["step", "is_base", "reward", "reward_std", "ood_logp", "fid", "accuracy", "diversity"],
                  f"{m}: /eval columns {names}")
            lower = {n for n in names if f["eval"][n].attrs["lower_is_better"]}
            check(lower == {"fid"}, f"{m}: lower_is_better columns {lower}")
            check(list(f["eval/is_base"][:]) == [1, 0], f"{m}: eval rows {list(f['eval/is_base'][:])}")
            check(np.isfinite(f["eval/fid"][:]).all() and (f["eval/accuracy"][:] >= 0).all(), f"{m}: metric values")
            images = f["samples/images"]
            check(images.dtype == np.uint8 and images.shape == (2, 20, 28, 28, 1), f"{m}: /samples/images {images.shape}")
            check(list(f["samples/conditions"][:]) == [c for c in range(10) for _ in range(2)],
                  f"{m}: /samples/conditions")
            check(list(f["samples/step"][:]) == [0, 3] and list(f["samples/is_base"][:]) == [1, 0],
                  f"{m}: /samples rows")
            grid = images[0]
            if base_grid is None:
                base_grid = grid
            # The same noise and classes for every run: the base model's grid is identical.
            check(np.array_equal(grid, base_grid), f"{m}: the base grid differs from the other runs'")
            check(grid.std() > 0, f"{m}: the base grid is blank")

    # docs/IMAGES.md's snippet, as a user would run it in a run's directory.
    doc = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "IMAGES.md")).read()
    snippet = re.findall(r"```python\n(.*?)```", doc.split("## Reading the sample grids yourself", 1)[1], re.S)[0]
    here = os.getcwd()
    try:
        os.chdir(os.path.join(runs, "refl"))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(snippet, "docs/IMAGES.md", "exec"), {})
        check(out.getvalue().strip() == "step 3: 10 classes x 2 samples, sheet (280, 56, 1)",
              f"the docs snippet printed {out.getvalue()!r}")
    except Exception as e:  # noqa: BLE001 - report any failure of the documented code
        check(False, f"the docs snippet failed: {e!r}")
    finally:
        os.chdir(here)

    rep = os.path.join(tmp, "report")
    rc, out = run(exe, "report", runs, "--out", rep, env=env)
    check(rc == 0, f"flowbp report rc {rc}: {out[-2000:]}")
    md = open(os.path.join(rep, "report.md")).read() if rc == 0 else ""
    for col in ("ood_logp", "fid ↓", "accuracy", "diversity"):
        check(col in md, f"Table 2 has {col}")
    check("## Sample grids" in md and "figures/samples.png" in md, "report.md lists the sample grid")
    png = os.path.join(rep, "figures", "samples.png")
    check(os.path.exists(png), "figures/samples.png written")
    if os.path.exists(png):
        width, height, colour, pixels = read_png(png)
        # 9 panels (base + 8 methods) in 3 columns; each 2 samples x 10 classes of 28 px
        # drawn at 2x with 2 px gaps, a 22 px caption, 16 px margins.
        panel_w, panel_h = 2 * 58 - 2, 22 + 10 * 58 - 2
        check((width, height, colour) == (16 + 3 * (panel_w + 16), 16 + 3 * (panel_h + 16), 0),
              f"samples.png is {width}x{height} colour {colour}")
        # The first panel is the base model's grid: class c's first sample at row c, column 0.
        if base_grid is not None:
            for c in (0, 9):
                top, left = 16 + 22 + c * 58, 16
                drawn = pixels[top:top + 56:2, left:left + 56:2, 0]
                check(np.array_equal(drawn, base_grid[2 * c, :, :, 0]), f"base panel class {c} matches the log")

    # bf16 autocast around the DiT's forwards (CPU autocast here; CUDA autocast on a GPU).
    rc, out = run(exe, "train", exp, "--method", "flowbp-lagrange", "--name", "bf16", "--out", runs, "--quiet",
                  "--set", 'train.autocast="bf16"', env=env)
    check(rc == 0, f"bf16 autocast: rc {rc}: {out[-2000:]}")
    if rc == 0:
        with h5py.File(os.path.join(runs, "bf16", "log.h5"), "r") as f:
            check(np.isfinite(f["steps/loss"][:]).all() and np.isfinite(f["eval/fid"][:]).all(), "bf16: finite")

    # The second landscape and the any-shape reward.
    rc, out = run(exe, "train", exp, "--method", "flowbp-lagrange", "--name", "ink", "--out", runs, "--quiet",
                  "--set", 'reward.kind="ink"', env=env)
    check(rc == 0, f"ink: rc {rc}: {out[-2000:]}")
    if rc == 0:
        with h5py.File(os.path.join(runs, "ink", "log.h5"), "r") as f:
            check(list(f["eval"].keys())[2:] == ["reward", "reward_std", "ood_logp", "ood_hard_ink", "fid", "accuracy",
                                                 "diversity"], f"ink columns {list(f['eval'].keys())}")
            check((f["eval/reward"][:] <= 0).all(), "ink reward <= 0")
    rc, out = run(exe, "train", exp, "--method", "refl", "--name", "latent", "--out", runs, "--quiet",
                  "--set", 'reward.kind="latent-target"', "--set", "backbone.pretrained=false",
                  "--set", 'backbone.data_dir="/nonexistent"', env=env)
    check(rc == 0, f"latent-target on random weights (no data read): rc {rc}: {out[-2000:]}")
    if rc == 0:
        with h5py.File(os.path.join(runs, "latent", "log.h5"), "r") as f:
            check(list(f["eval"].keys())[2:] == ["reward", "reward_std", "ood_cosine"], f"latent columns")
            check("samples" not in f, "no sample grid without images")

    # Bad inputs: exit 2, the message names what is wrong, nothing runs.
    bad = os.path.join(tmp, "bad-data")
    os.makedirs(bad)
    for name in os.listdir(DATA):
        shutil.copy(os.path.join(DATA, name), bad)

    def refused(what, *sets, needles, config=exp):
        args = ["train", config, "--method", "refl", "--name", "bad", "--out", os.path.join(tmp, "bad-runs"), "--quiet"]
        for s in sets:
            args += ["--set", s]
        rc, out = run(exe, *args, env=env)
        check(rc == 2, f"{what}: rc {rc} (expected 2): {out[-1500:]}")
        for n in needles:
            check(n in out, f"{what}: message lacks {n!r}: {out[-1500:]}")
        check(not os.path.exists(os.path.join(tmp, "bad-runs", "bad", "log.h5")), f"{what}: a run started")

    refused("missing data", 'backbone.data_dir="/nonexistent/fmnist"',
            needles=["/nonexistent/fmnist", "dataset-fashion-mnist", "--set: backbone.data_dir: Fashion-MNIST: "])
    labels = os.path.join(bad, "train-labels-idx1-ubyte.gz")
    images = os.path.join(bad, "train-images-idx3-ubyte.gz")
    shutil.copy(labels, images)  # a label file where the images belong: wrong magic
    refused("wrong magic", f'backbone.data_dir="{bad}"',
            needles=[images, "wrong magic number 2049", "dataset-fashion-mnist", "backbone.data_dir: Fashion-MNIST: "])
    shutil.copy(os.path.join(DATA, "train-images-idx3-ubyte.gz"), images)
    blob = bytearray(open(images, "rb").read())
    blob[-12] ^= 0x5A  # inside the deflate stream near its end: the headers read fine, the CRC fails
    open(images, "wb").write(bytes(blob))
    refused("corrupt gzip", f'backbone.data_dir="{bad}"', needles=[images, "dataset-fashion-mnist", "backbone.data_dir"])
    toy = os.path.join(tmp, "toy.toml")
    open(toy, "w").write('[reward]\nkind = "classifier"\n')
    refused("classifier on the toy", config=toy,
            needles=["reward.kind", "'classifier' scores samples of backbone kind {dit}, not 'toy-gmm'"])
    refused("scale needs random weights", 'backbone.size="scale"', needles=["backbone.pretrained", "scale"])
    refused("heads", "backbone.heads=5", needles=["backbone.heads", "must divide width 64"])
    refused("ink target", 'reward.kind="ink"', "reward.target=1.0", needles=["reward.target"])

    shutil.rmtree(tmp, ignore_errors=True) if not failures else print("kept", tmp, file=sys.stderr)
    print(f"image study: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
