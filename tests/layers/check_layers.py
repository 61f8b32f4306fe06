#!/usr/bin/env python3
"""The architecture, checked: every library includes only the layers below it, the
torch-free layers include no LibTorch header, no library includes app/, and the built
plugins and torch-free libraries link no LibTorch (docs/ARCHITECTURE.md).

    check_layers.py SOURCE_ROOT BUILD_ROOT
"""
import pathlib
import re
import subprocess
import sys

# Each layer: the folders whose sources belong to it, and the layers it may include
# (itself always). Read as "may use everything listed".
LAYERS = {
    "plan": (["core/plan"], []),
    "plugins": (["plugins"], ["plan"]),
    "engine": (["core/engine"], ["plan"]),
    "config": (["config"], ["plan"]),
    "runlog": (["runlog"], ["plan"]),
    "dist": (["dist"], ["plan", "engine"]),
    "models": (["models", "backbones", "rewards"], ["plan", "engine", "config"]),
    "train": (["train"], ["plan", "engine", "config", "runlog", "dist", "models"]),
    "runner": (["runner"], ["plan", "config", "runlog"]),
    "analysis": (["analysis"], ["plan", "runlog"]),
    "bench": (["bench"], ["plan", "engine", "config", "runlog", "dist", "models", "train"]),
    "app": (["app"], ["plan", "engine", "config", "runlog", "dist", "models", "train", "runner", "analysis", "bench"]),
}
TORCH_FREE = {"plan", "plugins", "config", "runlog", "runner", "analysis"}
TORCH_INCLUDE = re.compile(r"^(torch|ATen|c10|caffe2)/")
# A kind's private headers (backbones/<kind>/*.h, rewards/<kind>/*.h) belong to that kind;
# besides the kind itself only the bench (which rebuilds the toy for the Python
# reference) may include them. Tests may include anything.
KIND_HEADER_USERS = {"bench"}


def layer_of(path, root):
    rel = path.relative_to(root).as_posix()
    for layer, (folders, _) in LAYERS.items():
        if any(rel == f or rel.startswith(f + "/") for f in folders):
            return layer
    return None


def kind_folder(rel):
    parts = rel.split("/")
    return "/".join(parts[:2]) if parts[0] in ("backbones", "rewards") and len(parts) > 2 else None


def main():
    root, build = pathlib.Path(sys.argv[1]).resolve(), pathlib.Path(sys.argv[2]).resolve()
    headers = {}  # include spelling -> (layer, file)
    for layer, (folders, _) in LAYERS.items():
        for folder in folders:
            for h in (root / folder).rglob("*.h"):
                rel = h.relative_to(root).as_posix()
                if "/include/" in rel:
                    spelling = rel.split("/include/", 1)[1]
                else:
                    spelling = h.name
                headers.setdefault(spelling, []).append((layer, rel))
    problems = []
    for layer, (folders, allowed) in LAYERS.items():
        for folder in folders:
            for src in sorted((root / folder).rglob("*")):
                if src.suffix not in (".h", ".cpp"):
                    continue
                rel = src.relative_to(root).as_posix()
                for n, line in enumerate(src.read_text().splitlines(), 1):
                    m = re.match(r'\s*#\s*include\s*[<"]([^>"]+)[>"]', line)
                    if not m:
                        continue
                    inc = m.group(1)
                    where = f"{rel}:{n}: #include {inc}"
                    if TORCH_INCLUDE.match(inc) and layer in TORCH_FREE:
                        problems.append(f"{where}: the {layer} layer must not include LibTorch")
                    if inc.startswith("../") or "app/" in inc or inc == "commands.h" and layer != "app":
                        problems.append(f"{where}: reaches outside the library (or into app/)")
                        continue
                    owners = headers.get(inc)
                    if not owners:
                        continue  # a system or third-party header
                    # A same-named private header next to the source wins, as the compiler picks it.
                    local = [o for o in owners if pathlib.Path(o[1]).parent == src.parent]
                    owner_layer, owner_file = (local or owners)[0]
                    if owner_layer != layer and owner_layer not in allowed:
                        problems.append(f"{where}: {layer} may not include {owner_layer} ({owner_file})")
                    kind = kind_folder(owner_file)
                    if kind and kind_folder(rel) != kind and layer not in KIND_HEADER_USERS:
                        problems.append(f"{where}: {owner_file} is private to {kind}; use the registry")
    # What the build links: plugins and the torch-free shared libraries need no LibTorch.
    linked = list((build / "plugins").rglob("flowbp_method_*.so"))
    linked += [build / "core/plan/libflowbp_plan.so", build / "config/libflowbp_config.so",
               build / "runlog/libflowbp_runlog.so"]
    for lib in linked:
        if not lib.exists():
            problems.append(f"{lib}: not built")
            continue
        needed = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
        torch = [l for l in re.findall(r"\[(.*?)\]", needed) if re.match(r"lib(torch|c10)", l)]
        if torch:
            problems.append(f"{lib.relative_to(build)} links {', '.join(torch)}; it must stay torch-free")
    for p in problems:
        print("FAIL:", p, file=sys.stderr)
    if problems:
        return 1
    print(f"layers: {sum(1 for _ in root.rglob('*.cpp'))} sources checked, {len(linked)} libraries torch-free")
    return 0


if __name__ == "__main__":
    sys.exit(main())
