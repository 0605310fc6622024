"""Decisions of every kind on a live sidikd, for the CLI tests of
`sidik audit` and `sidik admin`:

    audit_fixture.py PROTO_DIR PKI_DIR PORT NEW_RECORDS AGAIN_RECORDS

NEW_RECORDS: `sidik gen` persons never seen; AGAIN_RECORDS: second
captures of the persons preloaded before sidikd started (their impression
1 at odd indexes). Uploads as office JKT-01, one step at a time so the
order of the audit log is known:

    dup     a second capture of a preloaded person      -> DUPLICATE
    new0-2  three new persons                            -> PRINT_READY
    claim1  a new person claiming new0's NIK             -> ADJUDICATE
    claim2  another new person claiming new1's NIK       -> ADJUDICATE

and prints one line per enrollment, "NAME ID STATUS", then "dup_entries N":
how many audit entries there were once dup was decided (so its entry is
number N).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, enrollment, load_stubs, records, wait_decided  # noqa: E402

proto_dir, pki, port, new_path, again_path = sys.argv[1:6]
pb, rpc = load_stubs(proto_dir)
new = records(new_path)
again = records(again_path)
chan = channel(pki, port, "office-JKT-01")
ingest, status = rpc.IngestStub(chan), rpc.StatusStub(chan)
audit = rpc.AuditStub(channel(pki, port, "auditor"))


def upload(named):
    """named: [(name, Enrollment)]; waits until each is decided."""
    msgs = [e for _, e in named]
    for r in ingest.Upload(iter(msgs), timeout=30):
        if r.code != 0:
            sys.exit(f"upload refused: {r.reason}")
    got = wait_decided(pb, status, [e.enrollment_id for e in msgs], timeout=60)
    for name, e in named:
        print(name, e.enrollment_id, pb.EnrollmentStatus.Name(got[e.enrollment_id].status),
              flush=True)


upload([("dup", enrollment(pb, again[15], 4242))])  # person 7's second capture
print("dup_entries", audit.VerifyChain(pb.VerifyChainRequest(), timeout=10).entries, flush=True)
upload([(f"new{i}", enrollment(pb, new[i], 5000 + i)) for i in range(3)])
# The NIK claims: other persons, under the NIKs new0 and new1 now hold.
upload([("claim1", enrollment(pb, new[3], 5000)), ("claim2", enrollment(pb, new[4], 5001))])
