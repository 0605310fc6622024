#!/bin/sh
# The pipeline end to end (issue 7's bench): a gallery of PERSONS synthetic
# persons preloaded (sidik preload), sidikd started on it, enrollments
# offered at RATE a second for SECONDS by two offices (2% of them second
# captures of preloaded persons), then decided enrollments a second and the
# time from receipt to decision and to PRINT_READY (p50, p99), read back
# from the offices' Status history. Prints figures; never passes or fails.
#
#   bench/bench_e2e.sh [PERSONS [RATE [SECONDS]]]      (1000000 100 120)
#
# WORK (default /tmp/sidik-e2e): keeps the generated persons and the
# preloaded gallery between runs (preloading 1,000,000 takes about 15
# minutes on 2 cores); each run starts from that gallery and an empty
# journal. BIN: the folder with sidik and sidikd (default build/bin).
set -eu
persons=${1:-1000000}
rate=${2:-100}
seconds=${3:-120}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/build/bin}
work=${WORK:-/tmp/sidik-e2e}/$persons
mkdir -p "$work"
cd "$work"
[ -f pki/ca.crt ] || sh "$root/deploy/pki.sh" pki >/dev/null
sh "$root/deploy/pki.sh" pki client office BDG-02 >/dev/null
[ -f old/records.iso ] || "$bin/sidik" gen --persons "$persons" --seed 7 --reenroll-rate 0 --out old --force
n=$(awk -v r="$rate" -v s="$seconds" 'BEGIN { printf "%d", r * s + 1 }')
[ -f "new-$n/records.iso" ] || "$bin/sidik" gen --persons "$n" --seed 8 --reenroll-rate 0 --out "new-$n" --force
[ -f again/records.iso ] || "$bin/sidik" gen --persons 2000 --impressions 2 --seed 7 --reenroll-rate 0 --out again --force
if [ ! -f preloaded/done ]; then
    rm -rf preloaded && mkdir preloaded
    "$bin/sidik" preload --data preloaded --records old/records.iso --threads 2
    : > preloaded/done
fi
rm -rf data && cp -r preloaded data
printf 'listen = 127.0.0.1:0\nmetrics_listen = 127.0.0.1:0\ndata_dir = data\nprint_key = data/print.key\ntls_ca = pki/ca.crt\ntls_cert = pki/server.crt\ntls_key = pki/server.key\n' > sidikd.conf
start=$(date +%s.%N)
"$bin/sidikd" --config sidikd.conf 2> sidikd.log &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
port=
while [ -z "$port" ]; do
    sleep 0.2
    kill -0 "$pid" || { cat sidikd.log; exit 1; }
    port=$(grep -o 'msg="listening".*port=[0-9]*' sidikd.log | grep -o 'port=[0-9]*' | cut -d= -f2 || true)
done
echo "sidikd listening after $(echo "$(date +%s.%N) - $start" | bc) s (the gallery loaded):"
grep 'msg="dedup stage open"' sidikd.log | sed 's/^ts=[^ ]* //'
echo "RSS $(grep VmRSS /proc/$pid/status | awk '{print $2, $3}'); $(nproc) cores"
/usr/bin/python3 "$root/bench/bench_e2e.py" "$root/proto" pki "$port" "new-$n/records.iso" \
    again/records.iso "$rate" "$seconds"
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT
