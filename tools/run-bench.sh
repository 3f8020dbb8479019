#!/bin/sh
# Installs what is missing, builds in release mode and runs the benchmark
# suite. Arguments go to stealpool-bench (try --help).
set -eu

cd "$(dirname "$0")/.."
bench=build/release/tools/stealpool-bench

print_usage() {
    cat <<EOF
Usage: tools/run-bench.sh [STEALPOOL-BENCH OPTION]...
Installs missing packages (tools/setup.sh), configures and builds the release
preset in build/release, then runs stealpool-bench there with the options.
EOF
}

# --help runs no setup or build. It prints the options of the program built
# last, or one line about what a run would do when none is built yet.
for arg in "$@"; do
    if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then
        print_usage
        echo
        if [ -x "$bench" ]; then
            echo "Options of $bench, as built last:"
            echo
            exec "$bench" --help
        fi
        echo "$bench is not built yet, so its options cannot be listed."
        echo "A run without --help builds it first, for example: tools/run-bench.sh --suite sync --reps 1"
        exit 0
    fi
done

tools/setup.sh

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec "$bench" "$@"
