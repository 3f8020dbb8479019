#!/bin/sh
# Runs scan_pipeline on a temporary tree with planted fake secrets, broken
# and looping symbolic links, a FIFO, an unreadable file and bad paths, and
# checks the exact counts, a few hit lines, --help, the exit status of a run
# that scans nothing and the exit status of bad usage.
# Usage: scan_pipeline_test.sh PATH_TO_SCAN_PIPELINE
set -u
program=$1
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect_line FILE LINE: FILE must contain LINE as a whole line.
expect_line() {
    grep -qxF -- "$2" "$1" || fail "missing line '$2' in $(basename "$1")"
}

root=$(mktemp -d "${TMPDIR:-/tmp}/scan_pipeline_test.XXXXXX") || exit 1
trap 'chmod -R u+rwx "$root"; rm -rf "$root"' EXIT
tree=$root/tree
mkdir -p "$tree/nested/deeper"

printf '%s\n' '# settings' 'aws_key=AKIAABCDEFGHIJKLMNOP' 'password=hunter2' \
    'password= spaced' 'id=AKIAABCDEFGHIJKLMNOPQ' 'xAKIAABCDEFGHIJKLMNOP' > "$tree/config.env"
printf '%s\n' 'gh=ghp_abcdefghijklmnopqrstuvwxyz0123456789' 'short=ghp_abc' \
    'slack=xoxb-123456789012-abcdefghijklmno' 'other=xoxq-1234567890' > "$tree/nested/tokens.txt"
printf '%s\n' '-----BEGIN RSA PRIVATE KEY-----' 'MIIBfake' '-----END RSA PRIVATE KEY-----' \
    > "$tree/nested/deeper/key.pem"
printf '%s\n' '-----BEGIN PUBLIC KEY-----' 'x' '-----BEGIN PRIVATE KEY-----' \
    > "$tree/nested/deeper/second.pem"
printf '%s\n' 'AKIAZZZZZZZZZZZZZZZZ' > "$tree/locked.txt"
chmod 000 "$tree/locked.txt"
ln -s .. "$tree/nested/loop"
ln -s missing-target "$tree/dangling"
ln -s self "$tree/self"
mkfifo "$tree/fifo"

# root reads a mode 000 file; other users get one more error instead of a hit.
if [ "$(id -u)" = 0 ]; then
    files=5 aws=2 total=7 errors=4
else
    files=4 aws=1 total=6 errors=5
fi

out=$root/out
err=$root/err
"$program" --verify-rate 1000 "$tree" "$tree" "$root/does-not-exist" > "$out" 2> "$err"
status=$?
cat "$out" "$err"
[ "$status" = 0 ] || fail "exit status $status, expected 0"
expect_line "$out" "files $files"
expect_line "$out" "directories 3"
expect_line "$out" "hits aws_access_key_id $aws"
expect_line "$out" "hits private_key 2"
expect_line "$out" "hits github_token 1"
expect_line "$out" "hits slack_token 1"
expect_line "$out" "hits password_assignment 1"
expect_line "$out" "hits total $total"
expect_line "$out" "verified hits $total"
expect_line "$out" "errors skipped $errors"
expect_line "$out" "symlinks not followed 1"
expect_line "$out" "special files skipped 1"
expect_line "$out" "$tree/config.env:2: aws_access_key_id"
expect_line "$out" "$tree/config.env:3: password_assignment"
expect_line "$out" "$tree/nested/deeper/key.pem:1: private_key"
expect_line "$out" "$tree/nested/deeper/second.pem:3: private_key"
expect_line "$err" "scan_pipeline: $tree/dangling: broken symbolic link (No such file or directory), skipping"
expect_line "$err" "scan_pipeline: $tree/self: symbolic link loop, skipping"
expect_line "$err" "scan_pipeline: $tree/nested/loop: not following symbolic link to a directory"
expect_line "$err" "scan_pipeline: $root/does-not-exist: No such file or directory, skipping"

# --max-files stops the walk after that many files.
"$program" --verify-rate 1000 --max-files 1 "$tree/nested/deeper" > "$out" 2> "$err"
status=$?
[ "$status" = 0 ] || fail "--max-files 1: exit status $status, expected 0"
expect_line "$out" "files 1"

# An empty directory counts as scanned, and the rate is printed as given.
mkdir "$root/empty"
"$program" --verify-rate 0.5 "$root/empty" > "$out" 2> "$err"
status=$?
[ "$status" = 0 ] || fail "empty directory: exit status $status, expected 0"
expect_line "$out" "directories 1"
grep -qF "(rate 0.5/s," "$out" || fail "--verify-rate 0.5: header does not show 'rate 0.5/s'"

# The minimum rate itself is valid.
"$program" --verify-rate 0.001 "$root/empty" > "$out" 2> "$err"
status=$?
[ "$status" = 0 ] || fail "--verify-rate 0.001: exit status $status, expected 0"

# A run in which no given path could be scanned exits with status 1.
for args in "$root/does-not-exist" "$root/does-not-exist $tree/fifo"; do
    # shellcheck disable=SC2086 # the arguments are split on purpose
    "$program" $args > "$out" 2> "$err"
    status=$?
    [ "$status" = 1 ] || fail "'$args': exit status $status, expected 1"
    expect_line "$err" "scan_pipeline: no given path could be scanned (see the messages above)"
    expect_line "$out" "files 0"
done

# root opens a mode 000 directory, so only other users can check this case.
if [ "$(id -u)" != 0 ]; then
    mkdir "$root/locked-dir"
    chmod 000 "$root/locked-dir"
    "$program" "$root/locked-dir" > "$out" 2> "$err"
    status=$?
    [ "$status" = 1 ] || fail "unreadable directory: exit status $status, expected 1"
fi

# --help prints the usage and the exit statuses on stdout and exits with 0.
for args in "--help" "-h"; do
    "$program" "$args" > "$out" 2> "$err"
    status=$?
    [ "$status" = 0 ] || fail "'$args': exit status $status, expected 0"
    head -n 1 "$out" | grep -q "^usage: scan_pipeline " || fail "'$args': no usage line on stdout"
    expect_line "$out" "  1  a stage failed, or no given path could be scanned"
    [ -s "$err" ] && fail "'$args': unexpected output on stderr"
done

# A rate below the minimum of 0.001/s is rejected. The limiter treats rates
# below about 8.7e-10/s as 0, so such a scan would stop after the burst.
"$program" --verify-rate 1e-12 "$tree" > "$out" 2> "$err"
status=$?
[ "$status" = 2 ] || fail "--verify-rate 1e-12: exit status $status, expected 2"
expect_line "$err" "scan_pipeline: invalid value '1e-12' for --verify-rate: expected requests per second, at least 0.001"

# Invalid usage exits with status 2 and a message.
for args in "--bogus" "--verify-rate abc" "--verify-rate 0" "--verify-rate" \
    "--verify-rate 0.0009" "--verify-rate inf" "--max-files -1" "--max-files 1x"; do
    # shellcheck disable=SC2086 # the arguments are split on purpose
    "$program" $args "$tree" > "$out" 2> "$err"
    status=$?
    [ "$status" = 2 ] || fail "'$args': exit status $status, expected 2"
    [ -s "$err" ] || fail "'$args': no message on stderr"
done

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
