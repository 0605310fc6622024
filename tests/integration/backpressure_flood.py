"""Backpressure: with the stage behind the network slower than the clients
(sidikd started with SIDIK_DRILL_SLOW_DISK_MS, so every journal sync drags),
a flood of uploads is held back by HTTP/2 flow control instead of being
buffered: sidikd's resident memory stays under a bound set by its windows,
and stops growing once they are full, while the clients always have their
next enrollment ready. Another office is served throughout.

    backpressure_flood.py PROTO_DIR PKI PORT SIDIKD_PID RECORDS SECONDS

Run by test_backpressure.sh with /usr/bin/python3; prints ok/FAIL per check
and the figures, exits 1 on any FAIL.
"""
import hashlib
import os
import sys
import threading
import time
import uuid

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, enrollment, load_stubs, records  # noqa: E402

proto_dir, pki, port, pid, records_path, seconds = sys.argv[1:7]
pid, seconds = int(pid), float(seconds)
pb, rpc = load_stubs(proto_dir)
recs = records(records_path)

CONNECTIONS = 16
FACE = 256 << 10
MiB = 1 << 20
# What sidikd may hold per connection while it is paused: the connection's
# HTTP/2 receive window (twice a stream's 1 MiB; received, not yet
# consumed), the call's window of admitted enrollments awaiting the journal
# (1 MiB), and one message being reassembled. server/h2.c, ingest_core.c.
PER_CONNECTION = 2 * MiB + 1 * MiB + FACE + (64 << 10)
# Threads, TLS state, allocator slack, the journal's pending group (1 MiB).
FIXED = 48 * MiB
BOUND = CONNECTIONS * PER_CONNECTION + FIXED

failed = False


def check(what, ok):
    global failed
    failed |= not ok
    print(("ok" if ok else "FAIL") + ": " + what, flush=True)


def rss():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) << 10
    return 0


# One enrollment serialised once with a big face; each message differs only
# in its id (same length), so the generators never make the clients wait.
face = os.urandom(FACE)
base = enrollment(pb, recs[0], 1)
base.attachments[0].data = face
base.attachments[0].sha256 = hashlib.sha256(face).digest()
template_id = base.enrollment_id.encode()
wire = base.SerializeToString()
assert wire.count(template_id) == 1

stop = threading.Event()
offered = [0] * CONNECTIONS   # messages the client handed to grpc
accepted = [0] * CONNECTIONS  # receipts with code 0
errors = []


def messages(i):
    while not stop.is_set():
        offered[i] += 1
        yield wire.replace(template_id, str(uuid.uuid4()).encode())


def flood(i):
    ch = channel(pki, port, "office-JKT-01", options=[("grpc.use_local_subchannel_pool", 1)])
    up = ch.stream_stream("/sidik.v1.Ingest/Upload", request_serializer=lambda b: b,
                          response_deserializer=pb.Receipt.FromString)
    try:
        for r in up(messages(i), timeout=seconds + 120):
            if r.code == 0:
                accepted[i] += 1
            else:
                errors.append(f"stream {i}: code {r.code} {r.reason}")
    except grpc.RpcError as e:
        errors.append(f"stream {i}: {e.code()} {e.details()}")
    ch.close()


base_rss = rss()
samples = []  # (seconds since the flood began, rss)
threads = [threading.Thread(target=flood, args=(i,)) for i in range(CONNECTIONS)]
t0 = time.monotonic()
for t in threads:
    t.start()

# Another office, mid-flood: a status query and an upload of its own.
other = channel(pki, port, "office-BDG-02")
other_status = other_upload = None
while time.monotonic() - t0 < seconds:
    now = time.monotonic() - t0
    samples.append((now, rss()))
    if other_status is None and now > seconds / 2:
        t1 = time.monotonic()
        try:
            rpc.StatusStub(other).List(pb.ListStatusRequest(), timeout=10)
            other_status = time.monotonic() - t1
        except grpc.RpcError as e:
            other_status = -1
            print(e)
        t1 = time.monotonic()
        try:
            got = list(rpc.IngestStub(other).Upload(
                iter([enrollment(pb, recs[1], 2, office="BDG-02")]), timeout=30))
            other_upload = time.monotonic() - t1 if len(got) == 1 and got[0].code == 0 else -1
        except grpc.RpcError as e:
            other_upload = -1
            print(e)
    time.sleep(0.2)
at_stop = sum(accepted)
stop.set()
for t in threads:
    t.join()

peak = max(r for _, r in samples)
half = [r for s, r in samples if s >= seconds / 2]
late_growth = max(half) - min(half)
wanted = sum(offered) * len(wire)
print(f"figures: {CONNECTIONS} connections for {seconds:.0f} s with syncs slowed; "
      f"{at_stop} enrollments durable during the flood ({at_stop / seconds:.0f}/s, "
      f"{at_stop * len(wire) / MiB / seconds:.1f} MiB/s), {sum(offered)} handed to grpc "
      f"({wanted / MiB:.0f} MiB); sidikd RSS {base_rss / MiB:.0f} MiB before, peak "
      f"{peak / MiB:.0f} MiB, bound {(BOUND + base_rss) / MiB:.0f} MiB, "
      f"growth over the second half {late_growth / MiB:.1f} MiB", flush=True)
unanswered = (sum(offered) - at_stop) * len(wire)
check(f"the flood was held back: the server took enrollments at the journal's pace "
      f"({at_stop} durable) and the clients' unanswered bytes stayed within the windows "
      f"({unanswered / MiB:.0f} MiB <= {CONNECTIONS * PER_CONNECTION / MiB:.0f} MiB)",
      0 < at_stop and unanswered <= CONNECTIONS * PER_CONNECTION)
check(f"sidikd's RSS stayed under its window bound "
      f"({(peak - base_rss) / MiB:.0f} MiB over the start <= {BOUND / MiB:.0f} MiB)",
      peak - base_rss <= BOUND)
check(f"and stopped growing once the windows were full "
      f"(second half: {late_growth / MiB:.1f} MiB <= 16 MiB)", late_growth <= 16 * MiB)
check(f"another office was served mid-flood (Status.List in {other_status:.2f} s, "
      f"its Upload receipted in {other_upload:.2f} s)",
      other_status is not None and other_status >= 0 and
      other_upload is not None and other_upload >= 0)
check("every flooding stream ended OK with every enrollment answered"
      + ("" if not errors else f" ({len(errors)} errors, first: {errors[0]})"),
      not errors and sum(accepted) == sum(offered))
sys.exit(1 if failed else 0)
