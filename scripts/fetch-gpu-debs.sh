#!/bin/bash
# Downloads (does not install) the Debian 12 packages scripts/gpu-check.sh unpacks on a
# GPU machine that has a pip PyTorch with CUDA but no Debian -dev packages and no
# network: HDF5, Boost.Program_options, toml++, doctest, gloo's headers, pkgconf, and
# the runtime libraries they need that such a machine may lack. About 15 MB.
#
#   bash scripts/fetch-gpu-debs.sh [DIR]      # default DIR: gpu-debs/ (git-ignored)
#
# The folder travels with the working tree when named in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-gpu-debs}
packages=(
  libhdf5-dev libhdf5-103-1 libsz2 libaec0             # HDF5 (C API), its szip/aec filters
  libboost1.74-dev libboost-program-options1.74-dev libboost-program-options1.74.0
  libtomlplusplus-dev libtomlplusplus3
  doctest-dev
  libgloo-dev                                           # c10d's Gloo headers, if the pip LibTorch lacks them
  pkgconf pkgconf-bin libpkgconf3                       # meson finds HDF5 and toml++ through pkg-config
)
mkdir -p "$dir"
cd "$dir"
rm -f ./*.deb
apt-get download "${packages[@]}"
ls -l ./*.deb
du -sh .
