#!/bin/sh
# Runs one libFuzzer target for SECONDS from a copy of its checked-in seed
# corpus (so the run never rewrites tests/fuzz/corpus), then prints its log
# in one piece: `make fuzz` runs several at once, one per core. Exits non-zero
# on any crash, leak, sanitizer report or out-of-memory; the input that did it
# is kept in ARTIFACTS to be added to the corpus once fixed.
#
# Usage: run.sh TARGET SECONDS ARTIFACTS
set -u
target=$1 seconds=$2 artifacts=$3
name=${target##*/fuzz_}
work=$(mktemp -d)
cp "$(dirname "$0")/corpus/$name"/* "$work/"
rc=0
ASAN_OPTIONS=detect_leaks=1 "$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" >"$work.log" 2>&1 || rc=$?
echo "== $target for ${seconds}s"
cat "$work.log"
rm -rf "$work" "$work.log"
if [ "$rc" -ne 0 ]; then
    echo "$target failed (exit $rc); input in $artifacts/"
    exit 1
fi
