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
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$tmp"
sh "$src/deploy/pki.sh" pki >/dev/null || { echo "FAIL: pki.sh"; exit 1; }
"$sidik" gen --persons 2 --reenroll-rate 0 --out gen >/dev/null 2>&1 || { echo "FAIL: sidik gen"; exit 1; }
cat > sidikd.conf <<CONF
listen = 127.0.0.1:0
metrics_listen = 127.0.0.1:0
tls_ca = pki/ca.crt
tls_cert = pki/server.crt
tls_key = pki/server.key
data_dir = data
io_threads = 2
journal_max_pending_bytes = 1M
CONF
# Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
# default) that would count as RSS: keep it small, as a bounded allocator would.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=8:thread_local_quarantine_size_kb=256"
SIDIK_DRILL_SLOW_DISK_MS=100 "$sidikd" --config sidikd.conf 2> log &
pid=$!
port=
for _ in $(seq 1 100); do
    port=$(grep -o 'msg="listening".*port=[0-9]*' log 2>/dev/null | grep -o 'port=[0-9]*' | cut -d= -f2)
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL: sidikd did not start"
    cat log
    exit 1
fi
grep -q 'drill: every journal sync delayed' log || { echo "FAIL: the slow-disk drill is not logged"; exit 1; }
/usr/bin/python3 "$src/tests/integration/backpressure_flood.py" "$src/proto" pki "$port" "$pid" \
    gen/records.iso "$seconds"
rc=$?
kill -TERM "$pid"
wait "$pid"
stop=$?
pid=
[ $stop -eq 0 ] || { echo "FAIL: sidikd exited $stop after SIGTERM"; rc=1; }
[ $rc -eq 0 ] || { echo "sidikd log (warn and above):"; grep -E 'level=(warn|error)' log | head -20; }
exit $rc
