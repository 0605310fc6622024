#!/bin/sh
# Runs bench/loadgen against a fresh sidikd and prints its figures.
#
#   bench/loadgen.sh [HOLD [STREAM [SECONDS]]]
#     HOLD     connections held open at once (default 5000)
#     STREAM   connections streaming Ingest.Upload (default 1000)
#     SECONDS  how long they stream (default 20)
#
# Environment: BIN, the folder with sidikd and loadgen (default build/bin);
# DATA, a folder for sidikd's journal and stores (default in the scratch
# folder; put it on the disk under test: fdatasync is what is measured);
# IO_THREADS, sidikd's io_threads (default 2); LOADGEN_ARGS, more loadgen
# options (loadgen --help), e.g. "--outstanding 1"; KEEP=1 keeps the scratch
# folder (PKI, config, sidikd.log, data) and prints where it is.
#
# Makes a development PKI (deploy/pki.sh) in a scratch folder, starts sidikd
# with limits that admit every connection from the one office certificate,
# runs both phases, stops sidikd with SIGTERM and shows what it logged at
# warn or above. Both processes get the hard descriptor limit (ulimit -n).
set -eu

hold=${1:-5000}
stream=${2:-1000}
seconds=${3:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/build/bin}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sidik-loadgen.XXXXXX")
data=${DATA:-$scratch/data}
pid=

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept $scratch"
    else
        rm -rf "$scratch"
        [ -z "${DATA:-}" ] || rm -rf "$data"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each connection is a descriptor on both sides; 5,000 need more than the
# usual soft limit of 1024.
ulimit -n "$(ulimit -Hn)"

sh "$root/deploy/pki.sh" "$scratch/pki" >/dev/null
cat > "$scratch/sidikd.conf" <<EOF
listen = 127.0.0.1:0
metrics_listen = 127.0.0.1:0
io_threads = ${IO_THREADS:-2}
max_connections = 20000
# Every loadgen connection uses the one office-JKT-01 certificate.
max_connections_per_client = 20000
idle_timeout = 1h
tls_ca = $scratch/pki/ca.crt
tls_cert = $scratch/pki/server.crt
tls_key = $scratch/pki/server.key
data_dir = $data
print_key = $data/print-signing.key
log_level = info
EOF

"$bin/sidikd" --config "$scratch/sidikd.conf" 2> "$scratch/sidikd.log" &
pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*msg="listening".* port=\([0-9][0-9]*\).*/\1/p' "$scratch/sidikd.log")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "sidikd did not start:" >&2
    cat "$scratch/sidikd.log" >&2
    exit 1
fi
echo "sidikd pid $pid port $port, fd limit $(ulimit -n), $(nproc) cores"

"$bin/loadgen" --port "$port" --pki "$scratch/pki" --pid "$pid" --hold "$hold" \
    --stream "$stream" --seconds "$seconds" ${LOADGEN_ARGS:-}

kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
echo "sidikd exit status $rc after SIGTERM"
warn=$(grep -c -E 'level=(warn|error)' "$scratch/sidikd.log" || true)
echo "sidikd log: $warn lines at warn or error"
# The ten most frequent, timestamps cut so repeats count together.
grep -E 'level=(warn|error)' "$scratch/sidikd.log" | sed 's/^ts=[^ ]* //' | cut -c1-200 |
    sort | uniq -c | sort -rn | head -n 10 || true
