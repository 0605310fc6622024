"""Ingest.UploadChunks live: a stock Python grpcio client against sidikd.

Run by test_upload_chunks.sh with /usr/bin/python3; exits non-zero when a
check fails.

    upload_chunks.py resume PROTO_DIR PKI_DIR PORT RECORDS STATE
    upload_chunks.py stage PROTO_DIR PKI_DIR PORT RECORDS STATE
    upload_chunks.py after-restart PROTO_DIR PKI_DIR PORT STATE

resume: an enrollment sent in chunks, the channel closed after half of
them, resumed on a new channel (its first answer says what the server
holds), finished; its receipt is what Status.Get and a resend show; an
admin certificate is refused. stage: half of another enrollment staged,
written to STATE; after-restart: against a restarted sidikd, the staged
prefix is gone (held_bytes 0) and the acknowledged one is not.
"""
import hashlib
import json
import os
import queue
import sys

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, code_of, enrollment, load_stubs, records  # noqa: E402

failures = 0


def check(desc, cond):
    global failures
    print(("ok: " if cond else "FAIL: ") + desc)
    failures += 0 if cond else 1


class Call:
    """An UploadChunks call whose chunks the test sends one at a time,
    reading each answer before the next."""

    def __init__(self, pb, rpc, chan):
        self.pb = pb
        self.q = queue.Queue()
        self.answers = rpc.IngestStub(chan).UploadChunks(iter(self.q.get, None), timeout=30)

    def send(self, e_id, sha, total, offset, data=b""):
        self.q.put(self.pb.EnrollmentChunk(enrollment_id=e_id, content_sha256=sha,
                                           total_bytes=total, offset=offset, data=data))
        return next(self.answers)

    def end(self):
        self.q.put(None)
        return list(self.answers)


def fresh(pki, port, cert):
    """A channel on a connection of its own (a reconnect after a cut)."""
    return channel(pki, port, cert, options=[("grpc.use_local_subchannel_pool", 1)])


def resume(proto_dir, pki, port, records_path, state_path):
    pb, rpc = load_stubs(proto_dir)
    e = enrollment(pb, records(records_path)[0], 9001)
    data = e.SerializeToString()
    sha = hashlib.sha256(data).digest()
    n = len(data)
    piece = (n + 5) // 6
    print(f"enrollment of {n} bytes in chunks of {piece}")

    first = fresh(pki, port, "office-JKT-01")
    c = Call(pb, rpc, first)
    sent = 0
    for _ in range(3):
        a = c.send(e.enrollment_id, sha, n, sent, data[sent:sent + piece])
        sent += len(data[sent:sent + piece])
        check(f"chunk answered with held_bytes {sent}", a.held_bytes == sent and
              not a.HasField("receipt") and a.enrollment_id == e.enrollment_id)
    first.close()  # the link drops mid-enrollment

    second = fresh(pki, port, "office-JKT-01")
    c = Call(pb, rpc, second)
    a = c.send(e.enrollment_id, sha, n, 0)
    check(f"on a new channel a data-less chunk says what is held ({a.held_bytes} of {sent})",
          a.held_bytes == sent and not a.HasField("receipt"))
    resent = 0
    at = a.held_bytes
    while at < n:
        a = c.send(e.enrollment_id, sha, n, at, data[at:at + piece])
        resent += len(data[at:at + piece])
        at += len(data[at:at + piece])
    check("no byte was sent twice", sent + resent == n)
    r = a.receipt
    check(f"the last chunk brings the Receipt once durable (code {r.code} {r.reason})",
          a.HasField("receipt") and a.held_bytes == n and r.code == 0 and
          r.status == pb.RECEIVED and r.journal_seq > 0 and not r.resend)
    check("its content_sha256 is the one the chunks named (grpcio writes the canonical encoding)",
          r.content_sha256 == sha)
    rest = c.end()
    check("the call ends cleanly after the office half-closes", rest == [])

    st = rpc.StatusStub(second).Get(pb.GetStatusRequest(enrollment_id=e.enrollment_id),
                                    timeout=10)
    check("Status.Get shows the enrollment as the receipt said",
          st.enrollment_id == e.enrollment_id and st.office_code == "JKT-01" and
          st.history[0].status == pb.RECEIVED and
          st.history[0].time_ms == r.received_time_ms)

    c = Call(pb, rpc, second)
    a = c.send(e.enrollment_id, sha, n, 0)
    c.end()
    check("a resend's first chunk gets the original receipt at once, held_bytes = total",
          a.HasField("receipt") and a.receipt.resend and a.held_bytes == n and
          a.receipt.journal_seq == r.journal_seq and
          a.receipt.received_time_ms == r.received_time_ms)
    up = list(rpc.IngestStub(second).Upload(iter([e]), timeout=20))
    check("Ingest.Upload of the same enrollment answers the same receipt",
          len(up) == 1 and up[0].resend and up[0].journal_seq == r.journal_seq and
          up[0].content_sha256 == r.content_sha256)

    c = Call(pb, rpc, second)
    a = c.send("not-a-uuid", sha, n, 0, data[:10])
    c.end()
    check("a garbage id is refused INVALID_ARGUMENT (ENROLLMENT_ID_FORMAT)",
          a.receipt.code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and
          a.receipt.field_errors[0].reason_code == "ENROLLMENT_ID_FORMAT")

    admin = channel(pki, port, "admin")
    code, _ = code_of(lambda: list(rpc.IngestStub(admin).UploadChunks(
        iter([pb.EnrollmentChunk(enrollment_id=e.enrollment_id, content_sha256=sha,
                                 total_bytes=n)]), timeout=10)))
    check(f"an admin certificate is refused PERMISSION_DENIED (got {code})",
          code == grpc.StatusCode.PERMISSION_DENIED)
    with open(state_path, "w") as f:
        json.dump({"done": {"id": e.enrollment_id, "sha": sha.hex(), "n": n,
                            "seq": r.journal_seq}}, f)


def stage(proto_dir, pki, port, records_path, state_path):
    pb, rpc = load_stubs(proto_dir)
    e = enrollment(pb, records(records_path)[1], 9002)
    data = e.SerializeToString()
    sha = hashlib.sha256(data).digest()
    chan = fresh(pki, port, "office-JKT-01")
    c = Call(pb, rpc, chan)
    a = c.send(e.enrollment_id, sha, len(data), 0, data[:len(data) // 2])
    c.end()
    check("half of another enrollment staged", a.held_bytes == len(data) // 2)
    with open(state_path) as f:
        state = json.load(f)
    state["staged"] = {"id": e.enrollment_id, "sha": sha.hex(), "n": len(data)}
    with open(state_path, "w") as f:
        json.dump(state, f)


def after_restart(proto_dir, pki, port, state_path):
    pb, rpc = load_stubs(proto_dir)
    with open(state_path) as f:
        state = json.load(f)
    chan = fresh(pki, port, "office-JKT-01")
    s, d = state["staged"], state["done"]
    c = Call(pb, rpc, chan)
    a = c.send(s["id"], bytes.fromhex(s["sha"]), s["n"], 0)
    b = c.send(d["id"], bytes.fromhex(d["sha"]), d["n"], 0)
    c.end()
    check("after a restart the staged prefix is gone: held_bytes 0, start again",
          a.held_bytes == 0 and not a.HasField("receipt"))
    check("and the acknowledged enrollment is not: its original receipt",
          b.HasField("receipt") and b.receipt.resend and b.receipt.journal_seq == d["seq"])


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "resume":
        resume(*sys.argv[2:7])
    elif mode == "stage":
        stage(*sys.argv[2:7])
    else:
        after_restart(*sys.argv[2:6])
    sys.exit(1 if failures else 0)
