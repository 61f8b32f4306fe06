#!/usr/bin/env bash
# Installs the Debian 12 packages flowbp builds and tests with (TOOLCHAIN.md).
# Runs apt-get directly as root, through sudo otherwise; does nothing when all are present.
set -euo pipefail
packages=(build-essential libtorch-dev libopenblas0-pthread libgloo-dev cmake meson ninja-build pkg-config
  libboost-program-options-dev libtomlplusplus-dev libhdf5-dev hdf5-tools doctest-dev
  python3-torch python3-h5py python3-pandas python3-numpy python3-scipy gnuplot-nox
  zlib1g-dev dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
