#!/bin/sh
# Installs what is missing, then builds and runs every test in three
# builds: release, AddressSanitizer+UBSan and ThreadSanitizer, each with
# -Wall -Wextra -Werror, then fuzzes the parsers briefly. Exits non-zero
# on the first failure.
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

# A short run of the parser fuzzers (clang, libFuzzer): 20 s per target.
# tools/fuzz.sh SECONDS runs them longer.
tools/fuzz.sh 20
