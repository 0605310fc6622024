#!/bin/sh
# The office uploader over a thin link (issue 9): COUNT enrollments of about
# 25 KB each (ten single-finger ISO 19794-2 records, a 17.5 KB face, a 4 KB
# signature) captured into a spool, then drained with `sidik upload run
# --once` to a fresh sidikd through tests/integration/fault_proxy.py shaped
# to RATE bits/s each way with DELAY_MS of one-way delay. Prints figures;
# never passes or fails:
#   - bytes on the wire per enrollment: the proxy's counts (both ways: TLS
#     handshakes and records, HTTP/2 frames, gRPC prefixes, receipts) over
#     the enrollments, and the overhead over their packed size;
#   - whether compression would pay: zlib at level 6 (what gRPC's gzip
#     encoding uses) on each packed enrollment, on its parts, on the real
#     FVC2002 ISO templates and on the real JPEGs found under /usr/share;
#   - the time to drain the backlog and the rate, and the same at
#     concurrency 1 on a small backlog (what pipelining buys on a long RTT);
#   - the time to drain 10,000 enrollments: measured when COUNT is 10000,
#     otherwise extrapolated from the measured rate, and labelled so.
#
#   bench/bench_upload.sh [COUNT [RATE [DELAY_MS [CONCURRENCY]]]]
#       defaults 1000 1M 150 4. At 1 Mbit/s 1,000 enrollments of 25 KB take
#       about 4 minutes; 10,000 would take over half an hour, which is why
#       the default is 1,000 and 10,000 is extrapolated.
#
# Environment: BIN, the folder with sidik and sidikd (default build/bin);
# SERIAL, the backlog for the concurrency-1 run (default 30; 0 skips it);
# FACE_BYTES (default 17500); KEEP=1 keeps the scratch folder.
set -eu
count=${1:-1000}
rate=${2:-1M}
delay=${3:-150}
conc=${4:-4}
serial=${SERIAL:-30}
face=${FACE_BYTES:-17500}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/build/bin}
py=/usr/bin/python3
proxy_py=$root/tests/integration/fault_proxy.py
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sidik-bench-upload.XXXXXX")
pid= ppid_=
cleanup() {
    [ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null || true
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$scratch"

sh "$root/deploy/pki.sh" pki >/dev/null
printf 'listen = 127.0.0.1:0\nmetrics_listen = 127.0.0.1:0\ndata_dir = data\nprint_key = data/print.key\ntls_ca = pki/ca.crt\ntls_cert = pki/server.crt\ntls_key = pki/server.key\n' >sidikd.conf
"$bin/sidikd" --config sidikd.conf 2>sidikd.log &
pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*msg="listening".* port=\([0-9][0-9]*\).*/\1/p' sidikd.log)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "sidikd did not start:" >&2; cat sidikd.log >&2; exit 1; }
"$py" "$proxy_py" --upstream "127.0.0.1:$port" --lifetime 86400 --rate "$rate" \
    --delay-ms "$delay" >proxy.out 2>proxy.err &
ppid_=$!
for _ in $(seq 50); do [ "$(wc -l <proxy.out)" -ge 2 ] && break; sleep 0.1; done
pport=$(sed -n 1p proxy.out | cut -d: -f2)
cport=$(sed -n 2p proxy.out | cut -d: -f2)
stats() { "$py" "$proxy_py" --ctl "$cport" stats; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
export SIDIK_CA=pki/ca.crt SIDIK_CERT=pki/office-JKT-01.crt SIDIK_KEY=pki/office-JKT-01.key
export SIDIK_SERVER="127.0.0.1:$pport"

echo "bench_upload: $count enrollments, link $rate bit/s each way, ${delay} ms each way" \
     "(RTT $((2 * delay)) ms), concurrency $conc"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"

"$bin/sidik" gen --persons $((count + serial)) --reenroll-rate 0 --seed 21 --out gen >/dev/null 2>&1
t0=$(date +%s.%N)
"$bin/sidik" upload add --gen gen --count "$count" --face-bytes "$face" --spool spool >add.out
t1=$(date +%s.%N)
bytes=$(sed -n 's/^backlog [0-9]* captures (\([0-9]*\) bytes).*/\1/p' add.out)
"$py" -c "print(f'capture: {$count} enrollments into the spool in {$t1 - $t0:.1f} s '
           f'({$count / ($t1 - $t0):.0f}/s, one fdatasync each); '
           f'{$bytes / $count:.0f} bytes each packed')"

# ---- compression -------------------------------------------------------------------
"$bin/sidik" upload export --all --spool spool --out pb >/dev/null
"$py" - "$root" pb "$root/../shared/data/fvc2002" <<'PY'
import glob, os, sys, zlib
sys.path.insert(0, sys.argv[1] + "/tests/integration")
from sidik_client import load_stubs
pb, _ = load_stubs(sys.argv[1] + "/proto")
def ratio(blobs):
    raw = sum(len(b) for b in blobs)
    z = sum(len(zlib.compress(b, 6)) for b in blobs)
    return raw, z, (z / raw if raw else float("nan"))
files = sorted(glob.glob(os.path.join(sys.argv[2], "*.pb")))
whole, tmpl, face, sig, rest = [], [], [], [], []
for f in files:
    b = open(f, "rb").read()
    whole.append(b)
    e = pb.Enrollment.FromString(b)
    tmpl.append(b"".join(x.template for x in e.fingers))
    for a in e.attachments:
        (face if a.kind == pb.FACE else sig).append(a.data)
    for x in e.fingers:
        x.template = b""
    for a in e.attachments:
        a.data = b""
    rest.append(e.SerializeToString())
print("compression (zlib level 6, per message as gRPC gzip would; compressed/raw):")
for name, blobs in (("whole enrollments", whole), ("  finger templates", tmpl),
                    ("  face (synthetic)", face), ("  signature (synthetic)", sig),
                    ("  the rest (ids, demographics, hashes)", rest)):
    raw, z, r = ratio(blobs)
    print(f"  {name:40s} {raw / len(files):8.0f} B -> {z / len(files):8.0f} B  ratio {r:.3f}")
fvc = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(sys.argv[3], "DB*_B", "*.iso")))]
if fvc:
    raw, z, r = ratio(fvc)
    print(f"  {'real FVC2002 ISO templates (%d files)' % len(fvc):40s} {raw / len(fvc):8.0f} B -> "
          f"{z / len(fvc):8.0f} B  ratio {r:.3f}")
jpegs = []
for d, _, names in os.walk("/usr/share"):
    jpegs += [os.path.join(d, n) for n in names if n.lower().endswith((".jpg", ".jpeg"))]
jpegs = [open(p, "rb").read() for p in sorted(jpegs)[:50] if os.path.getsize(p) > 4096]
jr = None
if jpegs:
    raw, z, jr = ratio(jpegs)
    print(f"  {'JPEGs found under /usr/share (%d files)' % len(jpegs):40s} {raw / len(jpegs):8.0f} B -> "
          f"{z / len(jpegs):8.0f} B  ratio {jr:.3f}  (whatever this system ships: no face photos)")
else:
    print("  JPEGs: none found under /usr/share to measure")
raw, z, r = ratio(whole)
traw, tz, tr = ratio(tmpl)
print(f"  measured: compressing these enrollments would save {100 * (1 - r):.1f}% "
      f"({(raw - z) / len(files):.0f} B of {raw / len(files):.0f}); the finger templates, the part "
      f"that is not an image, save {(traw - tz) / len(files):.0f} B ({100 * (traw - tz) / raw:.1f}% "
      f"of an enrollment)")
print("  the synthetic face and signature are random bytes standing in for entropy-coded JPEG/PNG "
      "data, which deflate cannot shrink; what real station photos would save is not measured here"
      + (f" (the {len(jpegs)} JPEGs this system has give {jr:.3f}, a sample of documentation images "
         "that says little about faces)" if jpegs else ""))
print("  decision: not worth turning on for templates and demographics (the saving above, paid "
      "for with deflate at the station and inflate at the centre on every enrollment); revisit "
      "with real face photos; gRPC compression stays off: sidikd refuses compressed messages today")
PY

# ---- the drain -------------------------------------------------------------------------
s0=$(stats)
t0=$(date +%s.%N)
"$bin/sidik" upload run --once --concurrency "$conc" --spool spool >run.out 2>run.err || {
    echo "upload run failed:" >&2; cat run.err >&2; exit 1; }
t1=$(date +%s.%N)
s1=$(stats)
up=$(($(field "$s1" up) - $(field "$s0" up)))
down=$(($(field "$s1" down) - $(field "$s0" down)))
conns=$(($(field "$s1" conns) - $(field "$s0" conns)))
echo "drain: $(cat run.out)"
"$py" -c "
n, b, up, down, t, rate = $count, $bytes, $up, $down, $t1 - $t0, '$rate'
mult = {'k': 1e3, 'K': 1e3, 'm': 1e6, 'M': 1e6, 'g': 1e9, 'G': 1e9}.get(rate[-1:], 1)
bps = float(rate[:-1] if mult != 1 else rate) * mult
print(f'  {n} enrollments in {t:.1f} s: {n / t:.2f} enrollments/s, {up * 8 / t / 1e3:.0f} kbit/s '
      f'upstream of the {bps / 1e3:.0f} kbit/s link ({100 * up * 8 / t / bps:.0f}% used); {$conns} connection(s)')
print(f'  on the wire per enrollment: {up / n:.0f} B up + {down / n:.0f} B down = {(up + down) / n:.0f} B, '
      f'for {b / n:.0f} B packed: {100 * (up / b - 1):.1f}% overhead upstream (TLS, HTTP/2, gRPC, handshake)')
per = t / n
if n == 10000:
    print(f'  10,000 enrollments: {t / 60:.1f} min (measured)')
else:
    print(f'  10,000 enrollments: about {per * 10000 / 60:.0f} min (EXTRAPOLATION from these {n} at '
          f'{per:.3f} s each, not measured; the link, not the centre, is the limit: at '
          f'{(up + down) / n:.0f} B each, {bps / 1e6:g} Mbit/s carries at most '
          f'{bps / 8 / (up / n):.2f} enrollments/s)')
"

if [ "$serial" -gt 0 ]; then
    "$bin/sidik" gen --persons "$serial" --reenroll-rate 0 --seed 22 --out gen1 >/dev/null 2>&1
    "$bin/sidik" upload add --gen gen1 --face-bytes "$face" --spool spool1 >/dev/null
    t0=$(date +%s.%N)
    "$bin/sidik" upload run --once --concurrency 1 --spool spool1 >run1.out 2>run1.err
    t1=$(date +%s.%N)
    "$py" -c "print(f'  concurrency 1 on {$serial}: {$serial / ($t1 - $t0):.2f} enrollments/s '
               f'(each waits for its receipt: a round trip and the journal fsync)')"
fi
