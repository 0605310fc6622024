#!/bin/sh
# Slow, stalled and greedy clients against a live sidikd: an office that
# holds connections open with a trickle of bytes (slowloris) fills only its
# own share (max_connections_per_client), a client that stalls in the
# middle of an Upload stream is cut after idle_timeout with what it sent
# before kept, and other offices are served throughout.
#   test_slow_clients.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
"$sidik" gen --persons 2 --reenroll-rate 0 --out gen >/dev/null 2>&1
live_conf "idle_timeout = 2s" "max_connections_per_client = 3"
live_start

/usr/bin/python3 - "$src/tests/integration" "$src/proto" pki "$port" "$mport" <<'PY'
import socket, ssl, sys, threading, time, urllib.request
sys.path.insert(0, sys.argv[1])
from sidik_client import channel, load_stubs
pb, rpc = load_stubs(sys.argv[2])
pki, port, mport = sys.argv[3], int(sys.argv[4]), sys.argv[5]

def tls(client):
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
    ctx.load_cert_chain(f"{pki}/{client}.crt", f"{pki}/{client}.key")
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.settimeout(10)
    return s

# Three slowloris connections from one office: the HTTP/2 preface, a byte
# every half second, never a whole request. Each read resets the idle
# timer, so they live on; the point is that they are all this office gets.
preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
stop = False
def trickle(s):
    for b in preface:
        if stop:
            return
        try:
            s.send(bytes([b]))
        except OSError:
            return
        time.sleep(0.5)
loris = [tls("office-BDG-02") for _ in range(3)]
threads = [threading.Thread(target=trickle, args=(s,)) for s in loris]
for t in threads:
    t.start()
time.sleep(3)  # longer than idle_timeout: the trickle keeps them open

fourth = tls("office-BDG-02")
t0 = time.monotonic()
try:
    got = fourth.recv(1)
except (ssl.SSLError, ConnectionError):
    got = b""
took = time.monotonic() - t0
ok = got == b"" and took < 1.5
print(("ok" if ok else "FAIL") + f": a fourth connection of that office is closed at once ({took:.2f} s)")

office = channel(pki, port, "office-JKT-01")
try:
    rpc.StatusStub(office).List(pb.ListStatusRequest(), timeout=5)
    served = True
except Exception as e:
    served = False
    print(e)
print(("ok" if served else "FAIL") + ": another office is served while the slowloris holds its share")
def open_still(s):  # drains what the server sent (its SETTINGS); open if no EOF follows
    s.setblocking(False)
    while True:
        try:
            if s.recv(65536) == b"":
                return False
        except ssl.SSLWantReadError:
            return True
        except OSError:
            return False
alive = sum(open_still(s) for s in loris)
print(("ok" if alive == 3 else "FAIL") + f": the trickling connections are only slow, not cut ({alive}/3)")
stop = True
for t in threads:
    t.join()
text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
refused = [l for l in text.splitlines() if l.startswith("sidik_connections_refused_total ")]
counted = bool(refused) and float(refused[0].split()[1]) >= 1
print(("ok" if counted else "FAIL") + ": /metrics counts the refused connection")
sys.exit(0 if ok and served and alive == 3 and counted else 1)
PY
check "slowloris confined to its own connection share" $?

/usr/bin/python3 - "$src/tests/integration" "$src/proto" pki "$port" gen/records.iso <<'PY'
import sys, threading, time
import grpc
sys.path.insert(0, sys.argv[1])
from sidik_client import channel, decided_statuses, enrollment, load_stubs, records
pb, rpc = load_stubs(sys.argv[2])
pki, port = sys.argv[3], sys.argv[4]
recs = records(sys.argv[5])
first = enrollment(pb, recs[0], 1)
done = threading.Event()
def stalled():  # one enrollment, then nothing, the stream left open
    yield first
    done.wait(30)
stub = rpc.IngestStub(channel(pki, port, "office-JKT-01"))
t0 = time.monotonic()
got, code = [], None
try:
    for r in stub.Upload(stalled(), timeout=30):
        got.append(r)
except grpc.RpcError as e:
    code = e.code()
took = time.monotonic() - t0
done.set()
ok = len(got) == 1 and got[0].code == 0 and code == grpc.StatusCode.UNAVAILABLE and 1.5 < took < 10
print(("ok" if ok else "FAIL") + f": a stalled Upload got its receipt, then was cut after {took:.1f} s ({code})")
st = rpc.StatusStub(channel(pki, port, "office-JKT-01")).Get(
    pb.GetStatusRequest(enrollment_id=first.enrollment_id), timeout=5)
kept = st.status in (pb.RECEIVED,) + decided_statuses(pb)  # the dedup stage may have decided it
print(("ok" if kept else "FAIL") + ": what it sent before stalling is kept")
sys.exit(0 if ok and kept else 1)
PY
check "a client stalled mid-stream is cut after idle_timeout, losing nothing" $?

live_stop
rc=$?
[ "$rc" -eq 0 ]; check "SIGTERM stops it with status 0 (got $rc)" $?
[ $fail -eq 0 ] || cat log
exit $fail
