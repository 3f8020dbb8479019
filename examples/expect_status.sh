#!/bin/sh
# Runs PROGRAM with its arguments and checks its exit status, that STREAM
# (stdout or stderr) has a line matching the extended regular expression
# PATTERN, and that the other stream is empty.
# Usage: expect_status.sh STATUS STREAM PATTERN PROGRAM [ARG...]
set -u
if [ $# -lt 4 ]; then
    echo "usage: expect_status.sh STATUS stdout|stderr PATTERN PROGRAM [ARG...]" >&2
    exit 2
fi
expected=$1
stream=$2
pattern=$3
shift 3
case $stream in
stdout) other=stderr ;;
stderr) other=stdout ;;
*)
    echo "expect_status.sh: invalid stream '$stream': expected stdout or stderr" >&2
    exit 2
    ;;
esac

dir=$(mktemp -d "${TMPDIR:-/tmp}/expect_status.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
"$@" > "$dir/stdout" 2> "$dir/stderr"
status=$?
cat "$dir/stdout" "$dir/stderr"

failures=0
if [ "$status" != "$expected" ]; then
    echo "FAIL: exit status $status, expected $expected"
    failures=$((failures + 1))
fi
if ! grep -qE -- "$pattern" "$dir/$stream"; then
    echo "FAIL: no line on $stream matches '$pattern'"
    failures=$((failures + 1))
fi
if [ -s "$dir/$other" ]; then
    echo "FAIL: unexpected output on $other"
    failures=$((failures + 1))
fi

[ "$failures" = 0 ] || exit 1
echo "exit status $status and $stream as expected"
