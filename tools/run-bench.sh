#!/bin/sh
# Installs what is missing, builds in release mode and runs the benchmark
# suite. Arguments go to stealpool-bench (try --help).
set -eu

cd "$(dirname "$0")/.."
tools/setup.sh

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec build/release/tools/stealpool-bench "$@"
