#!/bin/sh
# Builds the libFuzzer targets in tests/fuzz with clang (ASan + UBSan) and
# runs each for SECONDS seconds (default 60). Inputs that find something
# new are kept in build/fuzz/corpus/<target>, which later runs start from,
# beside the seeds in tests/fuzz/corpus/<target>. A crash stops the script
# with a non-zero exit and leaves the input as build/fuzz/crash-*.
#
# Usage: tools/fuzz.sh [SECONDS]
set -eu

cd "$(dirname "$0")/.."
seconds=${1:-60}
case "$seconds" in
    ''|*[!0-9]*) echo "fuzz: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is missing; tools/setup.sh installs it" >&2
    exit 1
fi

build=build/fuzz
CC=clang cmake -S tests/fuzz -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"

for target in env cpu_list; do
    corpus="$build/corpus/$target"
    mkdir -p "$corpus"
    echo "== fuzz_$target: $seconds s"
    "$build/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$build/" "$corpus" "tests/fuzz/corpus/$target" 2>"$build/fuzz_$target.log" || {
        tail -n 40 "$build/fuzz_$target.log" >&2
        echo "fuzz: fuzz_$target failed; the input is in $build/crash-*" >&2
        exit 1
    }
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/fuzz_$target.log" || true
done
echo "== fuzzing found nothing"
