#!/bin/sh
# Installs what is missing, then builds and runs every test in three
# builds: release, AddressSanitizer+UBSan and ThreadSanitizer, each with
# -Wall -Wextra -Werror. Exits non-zero on the first failing build.
set -eu

cd "$(dirname "$0")/.."
tools/setup.sh

jobs=$(nproc)
for preset in release asan tsan; do
    echo "== $preset: configure and build"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    echo "== $preset: test"
    ctest --preset "$preset" -j "$jobs"
done
echo "== all three builds passed"
