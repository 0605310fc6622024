#!/bin/sh
# `sidik preload` writes persons into a stopped sidikd's gallery, and
# refuses, with its exit code and reason, a second load of the same
# persons, a cut records file, a NIK that is not 16 digits, and a wrong
# command line. (sidikd searching them: tests/integration/test_pipeline.sh.)
set -u
sidik=$1
subcommand=preload
. "$(dirname "$0")/lib.sh"

"$sidik" gen --persons 300 --reenroll-rate 0 --out "$tmp/g" >/dev/null 2>&1
run --data "$tmp/d" --records "$tmp/g/records.iso" --threads 2
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^preloaded 300 persons into $tmp/d/gallery"
check "300 persons preloaded (exit $rc)" $?
[ -d "$tmp/d/control" ] && [ -d "$tmp/d/gallery/shard-0000" ]; check "the control store and a shard exist" $?
run --data "$tmp/d" --records "$tmp/g/records.iso" --count 5
[ "$rc" -eq 1 ] && echo "$err" | grep -q "record 0: the gallery refused it (already exists with different content); preloaded already?"
check "the same persons again are refused (exit $rc)" $?

head -c 100000 "$tmp/g/records.iso" > "$tmp/cut.iso"
run --data "$tmp/d2" --records "$tmp/cut.iso"
[ "$rc" -eq 1 ] && echo "$err" | grep -q "its length field says"; check "a cut file is refused where it is cut (exit $rc)" $?
printf '3171012505900001\n12345\n' > "$tmp/niks"
run --data "$tmp/d3" --records "$tmp/g/records.iso" --niks "$tmp/niks" --count 2
[ "$rc" -eq 1 ] && echo "$err" | grep -q 'record 1: .*NIK "12345": 16 digits or nothing'
check "a NIK that is not 16 digits is refused, naming the record (exit $rc)" $?
run --data "$tmp/d4" --records "$tmp/nothing.iso"
[ "$rc" -eq 1 ] && echo "$err" | grep -q "No such file"; check "a missing records file (exit $rc)" $?

refused "no --data" 2 "sidik preload: needs --data DIR and --records FILE; see --help" --records x
refused "a bad count" 2 "sidik preload: --count must be 1..4294967295" --count 0 --data d --records x
refused "too many threads" 2 "sidik preload: --threads must be 1..64" --threads 65
refused "an unknown option" 2 "sidik preload: unknown or incomplete option '--fast'; see --help" --fast
run --help
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^Exit codes"; check "--help documents exit codes" $?
exit $fail
