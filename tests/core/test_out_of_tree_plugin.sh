#!/usr/bin/env bash
# Installs flowbp into a scratch prefix, builds a plugin outside the tree with only
# `pkg-config flowbp`, and loads it with the installed flowbp.
set -euo pipefail
build=$1 source=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/root" --quiet >/dev/null
pcdir=$(dirname "$(find "$tmp/root" -name flowbp.pc | head -n1)")
[ -n "$pcdir" ] || { echo "FAIL: no flowbp.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$tmp/root
mkdir "$tmp/plugins"
c++ -std=c++17 -shared -fPIC -fvisibility=hidden -o "$tmp/plugins/flowbp_method_outside.so" "$source" \
  $(pkg-config --cflags --libs flowbp)
# A method plugin links the torch-free plan library only.
if readelf -d "$tmp/plugins/flowbp_method_outside.so" | grep -Eq 'lib(torch|c10)'; then
  echo "FAIL: the out-of-tree plugin links LibTorch: $(readelf -d "$tmp/plugins/flowbp_method_outside.so" | grep NEEDED)" >&2
  exit 1
fi
pkg-config --cflags flowbp | grep -q -- '-D_GLIBCXX_USE_CXX11_ABI=' || { echo "FAIL: flowbp.pc lacks the ABI flag" >&2; exit 1; }
exe=$(find "$tmp/root" -type f -name flowbp -perm -u+x | head -n1)
libdir=$(dirname "$(find "$tmp/root" -name 'libflowbp_plan.so*' | head -n1)")
out=$(LD_LIBRARY_PATH=$libdir FLOWBP_PLUGIN_PATH= "$exe" methods --plugin-dir "$tmp/plugins")
grep -q "echo-test" <<<"$out" || { echo "FAIL: out-of-tree plugin not listed: $out" >&2; exit 1; }
echo "out-of-tree plugin: ok ($(pkg-config --modversion flowbp))"
