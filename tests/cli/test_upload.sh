#!/bin/sh
# `sidik upload` against a live sidikd through the fault proxy
# (tests/integration/fault_proxy.py), each scenario with a spool of its own:
#  (a) offline first: captures go into the spool while the link is down;
#      `run --once` exits 3 and loses nothing; an uploader left running
#      retries with backoff while another process adds more; when the link
#      returns the backlog drains in capture order (journal order = capture
#      order), each capture exactly once;
#  (b) connections cut every 40 KB and stalled: every capture arrives once,
#      intact (the receipt's content hash is the spool's);
#  (c) 64 kbit/s with a 300 ms round trip, chunked: a 200 KB capture cut
#      mid-way resumes from what the centre holds (upstream bytes under 1.5x
#      its size), or, where sidikd answers UploadChunks with UNIMPLEMENTED,
#      the check says SKIP and the capture goes whole over Upload; (c2) a
#      server without UploadChunks gets whole enrollments, no piece wasted;
#  (d) a proxy flipping bits: TLS catches it, the uploader reconnects,
#      nothing arrives altered;
#  (e) the uploader SIGKILLed mid-run four times: nothing lost, nothing
#      duplicated (the centre's listing has each id once);
#  (f) `upload status --refresh` shows the centre's final decisions
#      (PRINT_READY, and DUPLICATE for the planted re-enrollments).
# Plus the command line's refusals and --help.
#   test_upload.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
unset SIDIK_SERVER SIDIK_CA SIDIK_CERT SIDIK_KEY SIDIK_TIMEOUT SIDIK_CONFIG SIDIK_SPOOL \
    XDG_CONFIG_HOME XDG_DATA_HOME
export HOME="$tmp/home"
mkdir -p "$HOME"
py=/usr/bin/python3
proxy_py="$src/tests/integration/fault_proxy.py"
ppid_=
cleanup_extra() { [ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null; }
trap 'cleanup_extra; [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

live_conf
live_start
"$py" "$proxy_py" --upstream "127.0.0.1:$port" --lifetime 600 >proxy.out 2>proxy.err &
ppid_=$!
for _ in $(seq 1 50); do [ "$(wc -l <proxy.out)" -ge 2 ] && break; sleep 0.1; done
pport=$(sed -n 1p proxy.out | cut -d: -f2)
cport=$(sed -n 2p proxy.out | cut -d: -f2)
[ -n "$pport" ] && [ -n "$cport" ]; check "the fault proxy started" $?
ctl() { "$py" "$proxy_py" --ctl "$cport" "$@" >/dev/null; }
up_bytes() { "$py" "$proxy_py" --ctl "$cport" stats | tr ' ' '\n' | sed -n 's/^up=//p'; }

export SIDIK_CA=pki/ca.crt SIDIK_CERT=pki/office-JKT-01.crt SIDIK_KEY=pki/office-JKT-01.key
export SIDIK_SERVER="127.0.0.1:$pport" SIDIK_TIMEOUT=5
direct="--server 127.0.0.1:$port"

# js SPOOL PYTHON: runs PYTHON with `u` = the spool's `upload status --all --json`.
js() {
    "$sidik" upload status --all --json --spool "$1" >status.json 2>/dev/null
    "$py" -c "import json,sys; u=json.load(open('status.json')); $2"
}
# drained SPOOL: every capture RECEIVED or later, each with a receipt whose hash is the spool's.
drained() {
    js "$1" "
bad=[c for c in u['captures'] if c['status'] in ('CAPTURED','SENT') or c['receipt_sha256']!=c['content_sha256']]
sys.exit(1 if bad or u['backlog'] else 0)"
}
# in_order SPOOL: journal order is capture order.
in_order() {
    js "$1" "
j=[c['journal_seq'] for c in sorted(u['captures'], key=lambda c: c['seq'])]
sys.exit(0 if j==sorted(j) and len(set(j))==len(j) else 1)"
}
wait_drained() { # SPOOL SECONDS
    for _ in $(seq 1 $(($2 * 5))); do drained "$1" && return 0; sleep 0.2; done
    return 1
}

"$sidik" gen --persons 38 --reenroll-rate 0.06 --seed 11 --out gen-a >/dev/null 2>&1
for s in 12 13 14 15; do "$sidik" gen --persons 30 --reenroll-rate 0 --seed $s --out gen-$s >/dev/null 2>&1; done
"$sidik" gen --persons 1 --reenroll-rate 0 --seed 16 --out gen-big >/dev/null 2>&1
"$sidik" gen --persons 1 --reenroll-rate 0 --seed 17 --out gen-big2 >/dev/null 2>&1

# ---- the command line ---------------------------------------------------------------
subcommand=upload
run_() { "$sidik" upload "$@" >stdout 2>stderr; rc=$?; out=$(cat stdout); err=$(cat stderr); }
run_ --help
[ "$rc" -eq 0 ] && echo "$out" | grep -q '^Exit codes: 0 done' && echo "$out" | grep -q 'sidik upload run --once --chunked'
check "--help: exit 0, the exit codes and examples" $?
run_ add --spool s0
[ "$rc" -eq 2 ] && [ "$err" = "sidik upload add: needs one source: --gen DIR (a \`sidik gen\` folder) or --folder DIR (<enrollment_id>.pb files); see 'sidik upload --help'" ]
check "add without a source: exit 2, says which ('$err')" $?
run_ run --concurrency 0 --spool s0
[ "$rc" -eq 2 ] && [ "$err" = "sidik upload run: --concurrency '0' must be a number from 1 to 64; see 'sidik upload --help'" ]
check "run --concurrency 0: exit 2 ('$err')" $?
run_ run --chunk-size 100 --spool s0
[ "$rc" -eq 2 ] && echo "$err" | grep -q "^sidik upload run: --chunk-size '100' must be a number of bytes from 1024 to 65536"
check "run --chunk-size 100: exit 2" $?
run_ add --gen gen-a --spool s0 --cert /nonexistent.crt --office ""
[ "$rc" -eq 1 ] && echo "$err" | grep -q "record 0 of gen-a/records.iso: office (1-32)"
check "add --office '': refused before anything is added (rc $rc)" $?
run_ frob
[ "$rc" -eq 2 ] && [ "$err" = "sidik upload: unknown subcommand 'frob' (add, run, status, export); see 'sidik upload --help'" ]
check "an unknown subcommand: exit 2" $?

# ---- (a) offline first ---------------------------------------------------------------
ctl set down_how=close
ctl down 600
run_ add --gen gen-a --count 20 --spool sa
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed -n 1p)" = "added 20 captures (0 already in the spool)" ]
check "(a) 20 captures added while the link is down ('$out')" $?
run_ add --gen gen-a --count 20 --spool sa
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed -n 1p)" = "added 0 captures (20 already in the spool)" ]
check "(a) adding the same records again adds nothing" $?
run_ run --once --spool sa --max-backoff 1
[ "$rc" -eq 3 ] && echo "$err" | grep -q "nothing was lost: 20 captures wait in the spool"
check "(a) run --once with the link down: exit 3, nothing lost (rc $rc)" $?
js sa "sys.exit(0 if u['backlog']==20 and u['counts']['CAPTURED']==20 else 1)"
check "(a) the 20 are still CAPTURED in the spool" $?
"$sidik" upload run --spool sa --max-backoff 2 >run-a.out 2>run-a.err &
upid=$!
sleep 1.5
run_ run --once --spool sa
[ "$rc" -eq 2 ] && echo "$err" | grep -q "another uploader (pid $upid) is sending from the spool"
check "(a) a second uploader on the same spool is refused (exit 2)" $?
run_ add --gen gen-a --spool sa
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^added 20 captures (20 already in the spool)"
check "(a) another process adds 20 more while the uploader waits for the link" $?
ctl reset
wait_drained sa 40
check "(a) the link is back: the backlog of 40 drains" $?
in_order sa
check "(a) ... in capture order (journal order = capture order)" $?
kill -TERM $upid
wait $upid
[ $? -eq 0 ]; check "(a) the uploader stops on SIGTERM with exit 0" $?
grep -q "the server cannot be reached; captures stay in the spool" run-a.err
check "(a) the uploader said the server could not be reached" $?

# ---- (b) cuts and stalls --------------------------------------------------------------
"$sidik" upload add --gen gen-12 --face-bytes 2000 --spool sb >/dev/null 2>&1
ctl set cut_bytes=40000 stall_after=20000 stall_s=2
run_ run --once --spool sb --max-backoff 1
[ "$rc" -eq 0 ]; check "(b) cut every 40 KB and stalled: run --once drains the 30 (rc $rc: $(echo "$err" | tail -n 1))" $?
ctl reset
drained sb; check "(b) every capture received, each receipt's hash the spool's" $?
conns=$(grep -c "^conn " proxy.err)
[ "$conns" -ge 4 ]; check "(b) it took several connections ($conns so far)" $?

# ---- (c) a thin link, chunked, a 200 KB capture cut mid-way -------------------------
"$sidik" upload add --gen gen-big --face-bytes 200000 --spool sc >/dev/null 2>&1
size=$(js sc "print(u['captures'][0]['bytes'])")
ctl set rate=64k delay_ms=150 cut_bytes=120000
before=$(up_bytes)
cuts_before=$(grep -c "end=cut-bytes" proxy.err)
start=$(date +%s)
timeout 150 "$sidik" upload run --once --chunked --spool sc --max-backoff 1 >run-c.out 2>run-c.err &
cpid=$!
fallback=0
for _ in $(seq 1 50); do
    if grep -qs "does not serve Ingest.UploadChunks" run-c.err; then fallback=1; break; fi
    kill -0 $cpid 2>/dev/null || break
    sleep 0.2
done
# Whole enrollments cannot get past a cut at 120 KB: the cut stays only for chunks.
[ $fallback -eq 1 ] && ctl set cut_bytes=0
wait $cpid
crc=$?
ctl reset
after=$(up_bytes)
[ $crc -eq 0 ]; check "(c) 64 kbit/s, 300 ms RTT: the $size-byte capture arrives (rc $crc, $(($(date +%s) - start)) s)" $?
drained sc; check "(c) received intact (receipt hash = spool hash)" $?
if [ $fallback -eq 1 ]; then
    echo "SKIP: (c) resume after a cut: sidikd answered Ingest.UploadChunks with UNIMPLEMENTED, so the capture went whole over Ingest.Upload (the uploader's fallback, checked above); the byte-count check needs the server's UploadChunks"
else
    cuts=$(($(grep -c "end=cut-bytes" proxy.err) - cuts_before))
    [ "$cuts" -ge 1 ]; check "(c) the link was cut mid-capture ($cuts cuts)" $?
    "$py" -c "import sys; sys.exit(0 if ($after - $before) < 1.5 * $size else 1)"
    check "(c) upstream bytes $((after - before)) < 1.5 x $size: nothing the centre held was sent again" $?
fi

# ---- (c2) a server without UploadChunks --------------------------------------------------
# tests/integration/upload_only_server.py serves Ingest.Upload only, as a
# sidikd older than UploadChunks: `run --chunked` must fall back to whole
# enrollments, and send no piece in vain first (at 256 kbit/s with a 300 ms
# RTT a socket buffer would carry seconds of them before the answer).
"$py" "$src/tests/integration/upload_only_server.py" pki 300 >old.out 2>old.err &
oldpid=$!
for _ in $(seq 1 100); do grep -q '^port ' old.out && break; sleep 0.1; done
oldport=$(sed -n 's/^port //p' old.out)
"$py" "$proxy_py" --upstream "127.0.0.1:$oldport" --lifetime 300 --rate 256k --delay-ms 150 \
    >proxy2.out 2>proxy2.err &
p2pid=$!
for _ in $(seq 1 50); do [ "$(wc -l <proxy2.out)" -ge 2 ] && break; sleep 0.1; done
p2port=$(sed -n 1p proxy2.out | cut -d: -f2)
c2port=$(sed -n 2p proxy2.out | cut -d: -f2)
"$sidik" upload add --gen gen-big2 --face-bytes 200000 --spool sc2 >/dev/null 2>&1
size=$(js sc2 "print(u['captures'][0]['bytes'])")
timeout 120 "$sidik" upload run --once --chunked --spool sc2 --max-backoff 1 \
    --server "127.0.0.1:$p2port" >run-c2.out 2>run-c2.err
crc=$?
up2=$("$py" "$proxy_py" --ctl "$c2port" stats | tr ' ' '\n' | sed -n 's/^up=//p')
"$py" "$proxy_py" --ctl "$c2port" quit >/dev/null
wait $p2pid 2>/dev/null
kill $oldpid 2>/dev/null
wait $oldpid 2>/dev/null
[ $crc -eq 0 ] && grep -q "does not serve Ingest.UploadChunks (UNIMPLEMENTED" run-c2.err
check "(c2) a server without UploadChunks: --chunked falls back to Upload (rc $crc)" $?
drained sc2; check "(c2) ... and the capture arrives intact" $?
"$py" -c "import sys; sys.exit(0 if $up2 < 1.1 * $size else 1)"
check "(c2) no piece was sent before the server said it lacks UploadChunks: $up2 bytes up for $size" $?

# ---- (d) corrupted bytes ------------------------------------------------------------
"$sidik" upload add --gen gen-13 --count 10 --face-bytes 2000 --spool sd >/dev/null 2>&1
conns_before=$(grep -c "^conn " proxy.err)
ctl set corrupt_every=30000
run_ run --once --spool sd --max-backoff 1
ctl reset
[ "$rc" -eq 0 ]; check "(d) a proxy flipping a bit every 30 KB: run --once drains the 10 (rc $rc)" $?
drained sd; check "(d) nothing arrived altered: every receipt's hash is the spool's, none refused" $?
js sd "sys.exit(0 if u['counts']['REJECTED']==0 else 1)"
check "(d) no capture was refused by the centre's checks" $?
echo "$err" | grep -Eq "TLS|lost|reset" && [ "$(grep -c "^conn " proxy.err)" -gt $((conns_before + 1)) ]
check "(d) TLS caught the damage and the uploader reconnected" $?

# ---- (e) SIGKILL mid-run ------------------------------------------------------------
"$sidik" upload add --gen gen-14 --face-bytes 4000 --spool se >/dev/null 2>&1
# 30 captures of about 12 KB at 256 kbit/s: some 11 s of sending, killed
# after 1, 1.5, 2 and 2.5 s, so each kill lands mid-stream.
ctl set rate=256k
for i in 2 3 4 5; do
    "$sidik" upload run --spool se --concurrency 8 >/dev/null 2>&1 &
    kp=$!
    sleep $((i / 2)).$((i % 2 * 5))
    kill -9 $kp
    wait $kp 2>/dev/null
done
js se "print('(e)', u['counts']['CAPTURED'] + u['counts']['SENT'], 'of 30 without a receipt after the kills')"
ctl reset
run_ run --once --spool se
[ "$rc" -eq 0 ]; check "(e) after 4 SIGKILLs a last run --once drains the spool ($out)" $?
drained se; check "(e) nothing lost: all 30 received, intact" $?

# ---- (g) a station's capture folder ----------------------------------------------------
# Three captures as a station's software writes them (grpcio's protobuf,
# one <enrollment_id>.pb each), a garbage file, one named after another id,
# one being written (.tmp, skipped), and a note that is no capture.
mkdir caps
"$py" - "$src" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/integration")
from sidik_client import enrollment, load_stubs, records
pb, _ = load_stubs(sys.argv[1] + "/proto")
for i, r in enumerate(records("gen-15/records.iso")[:3]):
    e = enrollment(pb, r, 9000 + i)
    open(f"caps/{e.enrollment_id}.pb", "wb").write(e.SerializeToString())
    if i == 0:
        open("caps/6f1c2a4e-0b7d-4c55-9a61-2f0e8d3b9c10.pb", "wb").write(e.SerializeToString())
        open(f"caps/{e.enrollment_id}.pb.tmp", "wb").write(b"half")
open("caps/junk.pb", "wb").write(b"\xff\xff\xff")
open("caps/notes.txt", "w").write("capture log\n")
PY
run_ add --folder caps --spool sg
[ "$rc" -eq 1 ] && [ "$(echo "$out" | sed -n 1p)" = "added 3 captures (0 already in the spool, 3 files refused)" ]
check "(g) add --folder: the 3 captures added, 3 files refused, exit 1 ('$(echo "$out" | sed -n 1p)')" $?
echo "$err" | grep -qx "sidik upload add: junk.pb: not a packed sidik.v1.Enrollment (the protobuf does not parse: truncated, or not a capture file)" &&
    echo "$err" | grep -qx "sidik upload add: notes.txt: not a capture file; a station writes one <enrollment_id>.pb per capture" &&
    echo "$err" | grep -q "^sidik upload add: 6f1c2a4e-0b7d-4c55-9a61-2f0e8d3b9c10.pb: holds enrollment_id .*; a capture file is named after its id"
check "(g) each refused file named with its reason" $?
run_ add --folder caps --spool sg
[ "$(echo "$out" | sed -n 1p)" = "added 0 captures (3 already in the spool, 3 files refused)" ]
check "(g) adding the folder again adds nothing" $?
run_ run --once --spool sg
[ "$rc" -eq 0 ] && drained sg; check "(g) the folder's captures are received intact" $?

# ---- the centre's view: each capture exactly once -------------------------------------
"$sidik" status list --all --json $direct >listing.json
for s in sa sb sc sd se sg; do "$sidik" upload status --all --json --spool $s; done >spools.json
"$py" - <<'PY'
import json, sys
listed = [e["enrollment_id"] for l in open("listing.json") for e in json.loads(l)["enrollments"]]
ours = [c["enrollment_id"] for l in open("spools.json") for c in json.loads(l)["captures"]]
dups = len(listed) - len(set(listed))
missing = set(ours) - set(listed)
print(f"centre lists {len(listed)} enrollments for JKT-01, spools hold {len(ours)}")
sys.exit(1 if dups or missing or len(set(listed)) != len(ours) else 0)
PY
check "the centre lists every capture of every spool exactly once (no duplicates, none missing)" $?

# ---- (f) decisions --------------------------------------------------------------------
ok=1
for _ in $(seq 1 60); do
    "$sidik" upload status --refresh --all --json --spool sa >status.json 2>/dev/null
    "$py" -c "
import json,sys; u=json.load(open('status.json'))
sys.exit(0 if u['counts']['RECEIVED']==0 and u['counts']['SENT']==0 else 1)" && { ok=0; break; }
    sleep 1
done
check "(f) upload status --refresh: every capture of (a) has its decision" $ok
"$py" -c "
import json,sys; u=json.load(open('status.json')); c=u['counts']
print('decisions:', {k: v for k, v in c.items() if v})
sys.exit(0 if c['DUPLICATE']>=1 and c['PRINT_READY']>=30 else 1)"
check "(f) PRINT_READY for the new persons, DUPLICATE for the planted re-enrollments" $?
id1=$("$py" -c "import json; print(json.load(open('status.json'))['captures'][0]['enrollment_id'])")
want=$("$py" -c "import json; print(json.load(open('status.json'))['captures'][0]['status'])")
got=$("$sidik" status get "$id1" --json $direct | "$py" -c "import json,sys; print(json.load(sys.stdin)['status'])")
[ "$got" = "$want" ]; check "(f) the spool's decision for $id1 is the centre's ($got)" $?
run_ status --spool sa
[ "$rc" -eq 0 ] && echo "$out" | sed -n 1p | grep -q "^spool sa: 40 captures, backlog 0 (0 bytes)"
check "(f) upload status: the summary line" $?

# An unreachable server: --refresh says so, shows the spool anyway, exits 3.
ctl set down_how=close
ctl down 60
run_ status --refresh --spool sa
[ "$rc" -eq 3 ] && echo "$out" | grep -q "^spool sa: 40 captures" && echo "$err" | grep -q "without the centre's latest decisions"
check "status --refresh with the link down: exit 3, the local view still shown" $?
ctl reset

ctl quit
wait "$ppid_" 2>/dev/null
ppid_=
live_stop
exit $fail
