#!/bin/sh
# Installs the Debian 12 packages that stealpool needs to build, test and
# benchmark. Run as root; packages already present are left alone.
set -eu

packages="build-essential cmake pkg-config git libck-dev libjemalloc-dev libbenchmark-dev \
libssl-dev libtbb-dev gnuplot-nox clang libclang-rt-14-dev openmpi-bin libopenmpi-dev"

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    echo "setup: every required package is installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages:$missing" >&2
    echo "setup: run this script as root, or: sudo apt-get install$missing" >&2
    exit 1
fi

echo "setup: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
apt-get install -y -q --no-install-recommends $missing
