#!/bin/sh
# Nothing acknowledged is ever lost, nothing is decided twice: sidikd is
# SIGKILLed at a random moment in the middle of 2-4 concurrent Upload
# streams, restarted on the same data dir, and checked (Status.Get, every
# Status.List page, resends, journal_seq unique per id, the restart's log),
# ROUNDS times over one accumulating data dir; then SIGTERM must stop it
# with status 0 and a last start must replay nothing. ingest_crash.py does
# the rounds and says what each one checks.
#   test_ingest_crash.sh SIDIKD SIDIK SOURCE_DIR [ROUNDS]
# ROUNDS: the argument, else $SIDIK_CRASH_ROUNDS, else 20 (ctest runs 20 as
# integration_ingest_crash and 200 as stress_ingest_crash; and 50 at a pace
# the dedup stage keeps up with, with a print station, as
# integration_pipeline_crash: see ingest_crash.py's SIDIK_CRASH_* settings).
# $SIDIK_CRASH_PERSONS: how many persons the enrollments are of (20).
# $SIDIK_CRASH_SEED replays a run (each run prints its seed); with
# $SIDIK_KEEP=1 the work dir (data, sent.log, receipts.log, every sidikd
# log) is kept, and it always is when the test fails.
set -u
sidikd=$1
sidik=$2
src=$3
rounds=${4:-${SIDIK_CRASH_ROUNDS:-20}}
tmp=$(mktemp -d)
keep=${SIDIK_KEEP:-0}
cleanup() { [ "$keep" = 1 ] && echo "work dir kept: $tmp" || rm -rf "$tmp"; }
trap cleanup EXIT
cd "$tmp"
sh "$src/deploy/pki.sh" pki >/dev/null || { echo "FAIL: pki.sh"; exit 1; }
"$sidik" gen --persons "${SIDIK_CRASH_PERSONS:-20}" --reenroll-rate 0 --out gen >/dev/null 2>&1 || { echo "FAIL: sidik gen"; exit 1; }
# Small journal segments and pending bound: crashes land across segment
# cuts and under backpressure.
cat > sidikd.conf <<CONF
listen = 127.0.0.1:0
tls_ca = pki/ca.crt
tls_cert = pki/server.crt
tls_key = pki/server.key
metrics_listen = 127.0.0.1:0
io_threads = 2
data_dir = data
print_key = data/print-signing.key
print_lease = 1s
journal_segment_bytes = 4M
journal_max_pending_bytes = 1M
CONF
mkdir work
/usr/bin/python3 "$src/tests/integration/ingest_crash.py" "$sidikd" sidikd.conf "$src/proto" pki \
    gen/records.iso work "$rounds" "${SIDIK_CRASH_SEED:-}"
rc=$?
if [ $rc -ne 0 ]; then
    keep=1
    echo "FAIL: ingest crash test ($rounds rounds)"
fi
exit $rc
