#!/usr/bin/env python3
"""The plugin interface may not change without a plugin ABI bump.

Hashes the headers whose types cross the plugin boundary (comments and spacing
removed, so rewording a comment changes nothing) and compares the hash with
tests/core/plugin_abi.pin, which records it together with FLOWBP_PLUGIN_ABI_VERSION.

    check_abi_pin.py SOURCE_ROOT            the test
    check_abi_pin.py SOURCE_ROOT --update   after bumping the version: record the new hash
"""
import hashlib
import pathlib
import re
import sys

HEADERS = ["plugin_abi.h", "method.h", "plan.h", "settings.h", "schedule.h", "samplers.h"]


def normalized(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return " ".join(text.split())


def main():
    root = pathlib.Path(sys.argv[1])
    include = root / "core" / "plan" / "include" / "flowbp"
    digest = hashlib.sha256()
    for name in HEADERS:
        digest.update(name.encode() + b"\0" + normalized((include / name).read_text()).encode() + b"\0")
    current = digest.hexdigest()
    version = int(re.search(r"#define FLOWBP_PLUGIN_ABI_VERSION (\d+)", (include / "plugin_abi.h").read_text()).group(1))
    pin_path = root / "tests" / "core" / "plugin_abi.pin"
    if "--update" in sys.argv:
        pin_path.write_text(f"{version} {current}\n")
        print(f"pinned plugin ABI {version}: {current}")
        return 0
    pinned_version, pinned_hash = pin_path.read_text().split()
    pinned_version = int(pinned_version)
    if current == pinned_hash and version == pinned_version:
        print(f"plugin interface unchanged for ABI {version}")
        return 0
    if current != pinned_hash and version == pinned_version:
        print(f"FAIL: the plugin interface headers ({', '.join(HEADERS)}) changed, but FLOWBP_PLUGIN_ABI_VERSION "
              f"is still {version}: plugins built before would load and break. Bump it in plugin_abi.h, then run "
              f"tests/core/check_abi_pin.py . --update", file=sys.stderr)
    else:
        print(f"FAIL: FLOWBP_PLUGIN_ABI_VERSION is {version} but the pin records {pinned_version}: run "
              f"tests/core/check_abi_pin.py . --update to record the interface of ABI {version}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
