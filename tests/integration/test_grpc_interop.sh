#!/bin/sh
# sidikd live: a stock Python grpcio client over mutual TLS uploads and
# queries (grpc_interop.py); a client that connects and never handshakes is
# cut after handshake_timeout; SIGHUP reloads the certificates; SIGTERM
# stops it gracefully (every enrollment accepted is answered) with exit
# status 0; restarted, it still has every enrollment it acknowledged.
#   test_grpc_interop.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
sh "$src/deploy/pki.sh" pki >/dev/null
sh "$src/deploy/pki.sh" pki client office SBY-03 --expired >/dev/null
sh "$src/deploy/pki.sh" foreign client office JKT-01 >/dev/null
"$sidik" gen --persons 4 --reenroll-rate 0 --out gen >/dev/null 2>&1
live_conf "handshake_timeout = 1s" "idle_timeout = 2s"
live_start
check "sidikd listens (port $port)" 0

/usr/bin/python3 "$src/tests/integration/grpc_interop.py" "$src/proto" pki foreign "$port" \
    gen/records.iso state.json 2>grpc.err
check "grpcio interop" $?
/usr/bin/python3 "$src/tests/integration/print_station.py" "$src/proto" pki "$port" "$sidik" \
    data/print-signing.pub state.json
check "a print station leases, verifies offline and acknowledges" $?

# five channels: office, admin, no certificate, another CA, expired
/usr/bin/python3 - "$mport" <<'PY'
import sys, urllib.request, urllib.error
base = f"http://127.0.0.1:{sys.argv[1]}"
text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
values = {l.split(" ")[0]: float(l.split(" ")[1]) for l in text.splitlines() if l and not l.startswith("#")}
ok = (values.get("sidik_connections_total", 0) >= 5 and values.get("sidik_handshake_failures_total", 0) >= 3
      and values.get('sidik_enrollments_total{status="RECEIVED"}') == 3
      and values.get('sidik_enrollments_total{status="REJECTED"}', 0) >= 3
      and values.get("sidik_journal_lag_entries") == 0
      and values.get("sidik_receipt_seconds_count") == 3
      and values.get("sidik_streams_open") == 0)
try:
    urllib.request.urlopen(base + "/nope", timeout=5)
    ok = False
except urllib.error.HTTPError as e:
    ok = ok and e.code == 404
sys.exit(0 if ok else f"metrics wrong: {values}")
PY
check "GET /metrics counts connections, refused handshakes, enrollments by status, journal lag, receipt latency, streams; other paths 404" $?

# A client that connects and says nothing is cut after handshake_timeout.
/usr/bin/python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
t = time.monotonic()
try:
    data = s.recv(1)
except socket.timeout:
    sys.exit("not cut within 5 s")
took = time.monotonic() - t
sys.exit(0 if data == b"" and 0.5 < took < 4 else f"cut wrongly: {data!r} after {took:.1f}s")
PY
check "a silent client is cut after handshake_timeout" $?

# A client that finishes its handshake and then goes quiet (a half-open
# connection, a stalled office) is closed after idle_timeout.
/usr/bin/python3 - "$port" <<'PY'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile="pki/ca.crt")
ctx.load_cert_chain("pki/office-JKT-01.crt", "pki/office-JKT-01.key")
ctx.set_alpn_protocols(["h2"])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.settimeout(8)
t = time.monotonic()
try:
    while s.recv(4096):  # the server's SETTINGS, then nothing until it closes
        pass
except (ssl.SSLError, ConnectionError):
    pass
except socket.timeout:
    sys.exit("a quiet client was never closed")
took = time.monotonic() - t
sys.exit(0 if 1.5 < took < 6 else f"closed after {took:.1f}s")
PY
check "a quiet client is closed after idle_timeout" $?

kill -HUP "$pid"
sleep 0.5
grep -q 'msg="certificates reloaded"' log; check "SIGHUP reloads the certificates" $?
/usr/bin/python3 - "$src/tests/integration" "$src/proto" pki "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sidik_client import channel, load_stubs
pb, rpc = load_stubs(sys.argv[2])
r = rpc.StatusStub(channel(sys.argv[3], sys.argv[4], "office-JKT-01")).List(pb.ListStatusRequest(), timeout=10)
sys.exit(0 if len(r.enrollments) == 3 else f"listed {len(r.enrollments)}")
PY
check "serves after the reload" $?

# SIGTERM in the middle of an Upload: what was accepted is answered first.
/usr/bin/python3 "$src/tests/integration/graceful_stop.py" stop "$src/proto" pki "$port" \
    gen/records.iso "$pid" drain.json
check "an Upload interrupted by SIGTERM" $?
live_wait 50
rc=$?
[ "$rc" -eq 0 ]; check "SIGTERM stops it with status 0 (got $rc)" $?
grep -q 'msg="stopped"' log; check "it says it stopped" $?

: > log
live_start
check "sidikd starts again on the same data" 0
/usr/bin/python3 "$src/tests/integration/grpc_interop.py" --after-restart "$src/proto" pki "$port" state.json
check "after a restart every acknowledged enrollment is there and resends get their receipts" $?
/usr/bin/python3 "$src/tests/integration/graceful_stop.py" verify "$src/proto" pki "$port" drain.json
check "the graceful stop answered every enrollment it accepted" $?
[ $fail -eq 0 ] || cat log
exit $fail
