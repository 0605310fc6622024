#!/bin/sh
# Backpressure against a live sidikd whose journal syncs are slowed
# (SIDIK_DRILL_SLOW_DISK_MS): a flood of uploads is held back by HTTP/2
# flow control and sidikd's memory stays bounded. backpressure_flood.py
# says what it checks.
#   test_backpressure.sh SIDIKD SIDIK SOURCE_DIR [SECONDS]
set -u
sidikd=$1
sidik=$2
src=$3
seconds=${4:-12}
. "$src/tests/integration/live.sh"
live_setup
"$sidik" gen --persons 2 --reenroll-rate 0 --out gen >/dev/null 2>&1 || { echo "FAIL: sidik gen"; exit 1; }
live_conf "io_threads = 2" "journal_max_pending_bytes = 1M"
# Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
# default) that would count as RSS: keep it small, as a bounded allocator would.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=8:thread_local_quarantine_size_kb=256"
export SIDIK_DRILL_SLOW_DISK_MS=100
live_start
grep -q 'drill: every journal sync delayed' log || { echo "FAIL: the slow-disk drill is not logged"; exit 1; }
/usr/bin/python3 "$src/tests/integration/backpressure_flood.py" "$src/proto" pki "$port" "$pid" \
    gen/records.iso "$seconds"
rc=$?
live_stop
stop=$?
[ $stop -eq 0 ] || { echo "FAIL: sidikd exited $stop after SIGTERM"; rc=1; }
[ $rc -eq 0 ] || { echo "sidikd log (warn and above):"; grep -E 'level=(warn|error)' log | head -20; }
exit $rc
