"""Simultaneous duplicates: several offices upload the same persons at the
same instant, each office on its own connection, and exactly one
enrollment of each person becomes PRINT_READY; every other is DUPLICATE
(the offices arrive in one dedup batch or a few: the batch is searched
against itself as well as the gallery).

    simultaneous.py PROTO_DIR PKI_DIR PORT RECORDS OFFICE...

The persons are the first five records of RECORDS (`sidik gen`, no
re-enrollments); each office sends all five on one Upload, the offices
released together by a barrier. The same person keeps the same NIK
everywhere (a person enrolling at several offices).
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, enrollment, load_stubs, records, wait_decided  # noqa: E402

proto_dir, pki, port, records_path = sys.argv[1:5]
offices = sys.argv[5:]
pb, rpc = load_stubs(proto_dir)
recs = records(records_path)[:5]
failures = []


def check(desc, cond):
    print(("ok: " if cond else "FAIL: ") + desc, flush=True)
    if not cond:
        failures.append(desc)


barrier = threading.Barrier(len(offices))
sent = {}      # office -> [enrollment id per person]
receipts = {}  # office -> [Receipt]


def office_uploads(code):
    chan = channel(pki, port, f"office-{code}",
                   options=[("grpc.use_local_subchannel_pool", 1)])
    stub = rpc.IngestStub(chan)
    msgs = [enrollment(pb, recs[p], 7000 + p, office=code) for p in range(len(recs))]
    sent[code] = [m.enrollment_id for m in msgs]
    # The connection up before the barrier, so all start sending together.
    rpc.StatusStub(chan).List(pb.ListStatusRequest(page_size=1), timeout=10)
    barrier.wait()
    receipts[code] = list(stub.Upload(iter(msgs), timeout=30))
    chan.close()


threads = [threading.Thread(target=office_uploads, args=(c,)) for c in offices]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(f"{len(offices)} offices x {len(recs)} persons uploaded at once, every one receipted",
      all(len(receipts.get(c, [])) == len(recs) and all(r.code == 0 for r in receipts[c])
          for c in offices))

states = {}
for c in offices:
    chan = channel(pki, port, f"office-{c}")
    states.update(wait_decided(pb, rpc.StatusStub(chan), sent[c], timeout=60))
for p in range(len(recs)):
    ids = [sent[c][p] for c in offices]
    st = [states[i].status for i in ids]
    unique = [i for i in ids if states[i].status == pb.PRINT_READY]
    check(f"person {p}: exactly one of {len(offices)} is PRINT_READY, the others DUPLICATE "
          f"(got {[pb.EnrollmentStatus.Name(s) for s in st]})",
          len(unique) == 1 and st.count(pb.DUPLICATE) == len(offices) - 1)
sys.exit(1 if failures else 0)
