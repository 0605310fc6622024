"""Interop: a stock Python grpcio client against a live sidikd over mutual TLS.

Run by test_grpc_interop.sh with /usr/bin/python3. Exits non-zero when a
check fails.

    grpc_interop.py PROTO_DIR PKI_DIR FOREIGN_PKI_DIR PORT RECORDS STATE
    grpc_interop.py --after-restart PROTO_DIR PKI_DIR PORT STATE

The first form uploads and queries (RECORDS: a `sidik gen` records.iso)
and writes what the server acknowledged to STATE; the second, run against
a restarted sidikd, checks every acknowledged enrollment is still there and
a resend still gets its original receipt.
"""
import json
import os
import sys

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import (channel, code_of, enrollment, load_stubs, records,  # noqa: E402
                          wait_decided)

failures = 0


def check(desc, cond):
    global failures
    print(("ok: " if cond else "FAIL: ") + desc)
    failures += 0 if cond else 1


def upload(stub, messages, timeout=20):
    return list(stub.Upload(iter(messages), timeout=timeout))


def after_restart(proto_dir, pki, port, state_path):
    pb, rpc = load_stubs(proto_dir)
    with open(state_path) as f:
        state = json.load(f)
    office = channel(pki, port, "office-JKT-01")
    status = rpc.StatusStub(office)
    for r in state["receipts"]:
        got = status.Get(pb.GetStatusRequest(enrollment_id=r["id"]), timeout=10)
        check(f"{r['id']} is still there after the restart, as it was decided",
              got.status == r["status"] and got.history[0].status == pb.RECEIVED and
              got.history[0].time_ms == r["received"])
    again = upload(rpc.IngestStub(office), [pb.Enrollment.FromString(bytes.fromhex(state["first"]))])
    check("a resend after the restart gets the original receipt",
          len(again) == 1 and again[0].resend and again[0].journal_seq == state["receipts"][0]["seq"])
    sys.exit(1 if failures else 0)


if sys.argv[1] == "--after-restart":
    after_restart(*sys.argv[2:6])

proto_dir, pki, foreign, port, records_path, state_path = sys.argv[1:7]
pb, rpc = load_stubs(proto_dir)
recs = records(records_path)
office = channel(pki, port, "office-JKT-01")
ingest = rpc.IngestStub(office)
status = rpc.StatusStub(office)

# ---- Upload: receipts once durable, in order, with per-enrollment verdicts ----
good = [enrollment(pb, recs[i], i + 1) for i in range(3)]
bad = enrollment(pb, recs[3], 4)
bad.demographics.nik = "3171012505900000"  # serial 0000 is impossible
receipts = upload(ingest, [good[0], good[1], bad, good[2]])
check(f"four enrollments, four receipts in order (got {len(receipts)})",
      [r.enrollment_id for r in receipts] == [good[0].enrollment_id, good[1].enrollment_id,
                                               bad.enrollment_id, good[2].enrollment_id])
ok = [receipts[0], receipts[1], receipts[3]]
check("valid ones are RECEIVED with code 0, a content hash and rising journal sequences",
      all(r.code == 0 and r.status == pb.RECEIVED and len(r.content_sha256) == 32 and not r.resend
          for r in ok) and ok[0].journal_seq < ok[1].journal_seq < ok[2].journal_seq)
check("an impossible NIK is INVALID_ARGUMENT, REJECTED, with its field and reason code",
      receipts[2].code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and
      receipts[2].status == pb.REJECTED and
      [(e.field, e.reason_code) for e in receipts[2].field_errors] ==
      [("demographics.nik", "NIK_STRUCTURE")])

again = upload(ingest, [good[0]])
check("a resend gets the original receipt (same sequence and time, resend set)",
      len(again) == 1 and again[0].resend and again[0].code == 0 and
      again[0].journal_seq == receipts[0].journal_seq and
      again[0].received_time_ms == receipts[0].received_time_ms and
      again[0].content_sha256 == receipts[0].content_sha256)

changed = pb.Enrollment()
changed.CopyFrom(good[1])
changed.station_id = "ST-02"
other = upload(ingest, [changed])
check("the same id with other content is ALREADY_EXISTS",
      len(other) == 1 and other[0].code == grpc.StatusCode.ALREADY_EXISTS.value[0] and
      not other[0].resend)

raw = office.stream_stream("/sidik.v1.Ingest/Upload", request_serializer=lambda b: b,
                           response_deserializer=pb.Receipt.FromString)
garbage = list(raw(iter([b"\xff\xff\xff\xff", good[2].SerializeToString()]), timeout=10))
check("a message that is not protobuf is answered MESSAGE_MALFORMED and the stream goes on",
      len(garbage) == 2 and garbage[0].code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and
      [e.reason_code for e in garbage[0].field_errors] == ["MESSAGE_MALFORMED"] and
      garbage[1].resend)

cut = enrollment(pb, recs[0], 7)
cut.fingers[2].template = recs[0][:len(recs[0]) - 5]  # its last minutiae cut off
junk = enrollment(pb, recs[0], 6)
junk.fingers[0].template = recs[0] + b"\x00" * 3
broken = upload(ingest, [cut, junk])
check("templates are decoded before anything is stored: a cut one is TEMPLATE_TRUNCATED, one "
      "with bytes after its end TEMPLATE_TRAILING_BYTES, each naming its finger",
      len(broken) == 2 and
      [(e.field, e.reason_code) for e in broken[0].field_errors] ==
      [("fingers[2].template", "TEMPLATE_TRUNCATED")] and
      [(e.field, e.reason_code) for e in broken[1].field_errors] ==
      [("fingers[0].template", "TEMPLATE_TRAILING_BYTES")])

huge = enrollment(pb, recs[0], 5)
huge.attachments[0].data = b"\xff" * (5 << 20)
code, _ = code_of(lambda: list(ingest.Upload(iter([huge]), timeout=20)))
check(f"an Upload message over max_message_bytes (4 MiB) ends the call RESOURCE_EXHAUSTED "
      f"(got {code})", code == grpc.StatusCode.RESOURCE_EXHAUSTED)

nul_name = enrollment(pb, recs[0], 8)
nul_name.demographics.full_name = "Siti\x00Rahayu"
nul = upload(ingest, [nul_name])
check("a NUL byte inside a text field is refused (TEXT_HAS_NUL), not read as a shorter string",
      len(nul) == 1 and [e.reason_code for e in nul[0].field_errors] == ["TEXT_HAS_NUL"])

foreign_office = enrollment(pb, recs[0], 9, office="BDG-02")
theirs = upload(ingest, [foreign_office])
check("an enrollment naming another office is refused (OFFICE_NOT_CALLER)",
      len(theirs) == 1 and [e.reason_code for e in theirs[0].field_errors] == ["OFFICE_NOT_CALLER"])

# ---- Status: from the control store, each office its own -----------------------
# Three different persons: the dedup stage makes each PRINT_READY.
decided = wait_decided(pb, status, [g.enrollment_id for g in good])
check("three different persons are decided PRINT_READY",
      [decided[g.enrollment_id].status for g in good] == [pb.PRINT_READY] * 3)
st = decided[good[0].enrollment_id]
check("Status.Get: RECEIVED at the receipt's time, then PRINT_READY, in its history",
      st.office_code == "JKT-01" and [h.status for h in st.history] == [pb.RECEIVED, pb.PRINT_READY]
      and st.history[0].time_ms == receipts[0].received_time_ms and
      st.history[1].time_ms >= st.history[0].time_ms)
code, _ = code_of(lambda: status.Get(pb.GetStatusRequest(enrollment_id=bad.enrollment_id), timeout=10))
check(f"a rejected enrollment was never stored (got {code})", code == grpc.StatusCode.NOT_FOUND)
bdg = rpc.StatusStub(channel(pki, port, "office-BDG-02"))
code, _ = code_of(lambda: bdg.Get(pb.GetStatusRequest(enrollment_id=good[0].enrollment_id), timeout=10))
check(f"another office cannot see it: NOT_FOUND, as if never received (got {code})",
      code == grpc.StatusCode.NOT_FOUND)
aud = rpc.StatusStub(channel(pki, port, "auditor"))
check("an auditor can read any enrollment's status",
      aud.Get(pb.GetStatusRequest(enrollment_id=good[0].enrollment_id), timeout=10).status == pb.PRINT_READY)
code, _ = code_of(lambda: status.Get(pb.GetStatusRequest(), timeout=10))
check(f"Status.Get without an id is INVALID_ARGUMENT (got {code})", code == grpc.StatusCode.INVALID_ARGUMENT)

page1 = status.List(pb.ListStatusRequest(page_size=2), timeout=10)
page2 = status.List(pb.ListStatusRequest(page_size=2, page_token=page1.next_page_token), timeout=10)
listed = [e.enrollment_id for e in page1.enrollments] + [e.enrollment_id for e in page2.enrollments]
check("Status.List pages through the office's own, in the order received",
      listed == [g.enrollment_id for g in good] and page1.next_page_token and not page2.next_page_token)
check("Status.List filtered by status",
      len(status.List(pb.ListStatusRequest(status=pb.RECEIVED), timeout=10).enrollments) == 0 and
      len(status.List(pb.ListStatusRequest(status=pb.PRINT_READY), timeout=10).enrollments) == 3)
check("another office's listing is its own (empty)",
      len(bdg.List(pb.ListStatusRequest(), timeout=10).enrollments) == 0)
code, _ = code_of(lambda: status.List(pb.ListStatusRequest(page_token="x"), timeout=10))
check(f"a forged page token is INVALID_ARGUMENT (got {code})", code == grpc.StatusCode.INVALID_ARGUMENT)
code, _ = code_of(lambda: aud.List(pb.ListStatusRequest(), timeout=10))
check(f"an auditor calling Status.List is PERMISSION_DENIED (got {code})",
      code == grpc.StatusCode.PERMISSION_DENIED)

# ---- roles, limits, certificates ------------------------------------------------
code, _ = code_of(lambda: rpc.AdminStub(office).Stats(pb.StatsRequest(), timeout=10))
check(f"office calling Admin.Stats is PERMISSION_DENIED (got {code})",
      code == grpc.StatusCode.PERMISSION_DENIED)
code, _ = code_of(lambda: list(rpc.IngestStub(channel(pki, port, "auditor")).Upload(iter(good), timeout=10)))
check(f"an auditor calling Ingest.Upload is PERMISSION_DENIED (got {code})",
      code == grpc.StatusCode.PERMISSION_DENIED)
admin = channel(pki, port, "admin")
code, _ = code_of(lambda: rpc.AdminStub(admin).Stats(pb.StatsRequest(), timeout=10))
check(f"admin calling Admin.Stats passes the role check and is answered (got {code})",
      code == grpc.StatusCode.OK)

big = pb.GetStatusRequest(enrollment_id="x" * (5 << 20))
code, _ = code_of(lambda: status.Get(big, timeout=20))
check(f"a 5 MiB message is RESOURCE_EXHAUSTED (got {code})", code == grpc.StatusCode.RESOURCE_EXHAUSTED)

for who, ca_dir, what in ((None, None, "no client certificate"),
                          ("office-JKT-01", foreign, "another CA's certificate"),
                          ("office-SBY-03", None, "an expired certificate")):
    code, _ = code_of(lambda: rpc.StatusStub(channel(pki, port, who, ca_dir)).Get(
        pb.GetStatusRequest(enrollment_id=good[0].enrollment_id), timeout=10))
    check(f"{what}: the handshake fails (got {code})", code == grpc.StatusCode.UNAVAILABLE)

# The office connection still works after all that.
check("other clients' failures did not harm this connection",
      status.Get(pb.GetStatusRequest(enrollment_id=good[1].enrollment_id), timeout=10).status ==
      pb.PRINT_READY)

with open(state_path, "w") as f:
    json.dump({"first": good[0].SerializeToString().hex(),
               "receipts": [{"id": r.enrollment_id, "seq": r.journal_seq, "received": r.received_time_ms,
                             "status": decided[r.enrollment_id].status} for r in ok]}, f)
sys.exit(1 if failures else 0)
