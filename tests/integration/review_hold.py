"""A person waiting for review is searched until someone decides them, on a
live sidikd:

    review_hold.py PROTO_DIR PKI_DIR PORT RECORDS

RECORDS: `sidik gen --persons 3 --impressions 3` (person-major: person p's
capture i at index 3p + i), persons never seen, under NIK serials 9300-9303
(no other test of the live server uses them). Each upload is decided before
the next:

    A   person 0, NIK n                    -> PRINT_READY
    B   person 1, NIK n (a NIK claim)      -> ADJUDICATE
    C   person 2, NIK n                    -> ADJUDICATE
    B2  person 1 again, another NIK        -> ADJUDICATE, "same fingers as B (in review)"
        (before: PRINT_READY, and B's UNIQUE verdict would have printed a second card)
    C adjudicated DUPLICATE_OF A's record: sidikd stops searching C, so
    C2  person 2 again, another NIK        -> PRINT_READY
    B adjudicated UNIQUE, then PRINT_READY:
    B3  person 1 a third time              -> DUPLICATE of B's record
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, enrollment, load_stubs, records, wait_decided  # noqa: E402

proto_dir, pki, port, records_path = sys.argv[1:5]
pb, rpc = load_stubs(proto_dir)
recs = records(records_path)
chan = channel(pki, port, "office-JKT-01")
ingest, status = rpc.IngestStub(chan), rpc.StatusStub(chan)
audit = rpc.AuditStub(channel(pki, port, "auditor"))
failures = []


def check(desc, cond):
    print(("ok: " if cond else "FAIL: ") + desc, flush=True)
    if not cond:
        failures.append(desc)


def upload(person, capture, serial):
    """Person's capture under NIK serial, decided; (id, status, decision)."""
    e = enrollment(pb, recs[3 * person + capture], serial)
    for r in ingest.Upload(iter([e]), timeout=30):
        if r.code != 0:
            sys.exit(f"upload refused: {r.reason}")
    st = wait_decided(pb, status, [e.enrollment_id], timeout=60)[e.enrollment_id]
    d = audit.GetDecision(pb.GetDecisionRequest(enrollment_id=e.enrollment_id), timeout=10)
    return e.enrollment_id, st.status, d


def adjudicate(eid, decision, duplicate_of=0):
    audit.Adjudicate(pb.AdjudicateRequest(enrollment_id=eid, decision=decision,
                                          duplicate_of=duplicate_of, reason="checked by hand"),
                     timeout=10)


a, st, _ = upload(0, 0, 9300)
check("A: a new person is PRINT_READY", st == pb.PRINT_READY)
b, st, d = upload(1, 0, 9300)
check("B: another person under A's NIK waits for review", st == pb.ADJUDICATE)
m = re.match(r"NIK already enrolled as record (\d+)", d.reason)
check(f"B: the reason names A's record ({d.reason!r})", m is not None)
a_record = int(m.group(1)) if m else 0
c, st, _ = upload(2, 0, 9300)
check("C: a third person under that NIK waits for review", st == pb.ADJUDICATE)

b2, st, d = upload(1, 1, 9301)
check("B2: B captured again while B waits is held for review too", st == pb.ADJUDICATE)
check(f"B2: the reason names B ({d.reason!r})", d.reason == f"same fingers as {b} (in review)")
check("B2: B is its first candidate", len(d.candidates) > 0 and d.candidates[0].record_id > 0)

adjudicate(c, pb.DUPLICATE_OF, a_record)
c2, st, d = upload(2, 1, 9302)
check("C2: once C is adjudicated a duplicate it is searched no more (PRINT_READY)",
      st == pb.PRINT_READY)

adjudicate(b, pb.UNIQUE)
deadline = time.monotonic() + 30
while status.Get(pb.GetStatusRequest(enrollment_id=b), timeout=10).status != pb.PRINT_READY:
    if time.monotonic() > deadline:
        break
    time.sleep(0.05)
check("B: adjudicated UNIQUE, PRINT_READY",
      status.Get(pb.GetStatusRequest(enrollment_id=b), timeout=10).status == pb.PRINT_READY)
b3, st, d = upload(1, 2, 9303)
check(f"B3: a third capture of B is B's DUPLICATE ({pb.EnrollmentStatus.Name(st)}, "
      f"{[c.enrollment_id for c in d.candidates]})",
      st == pb.DUPLICATE and len(d.candidates) > 0 and d.candidates[0].enrollment_id == b)
sys.exit(1 if failures else 0)
