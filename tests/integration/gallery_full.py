"""The gallery's disk fills under a live sidikd (SIDIK_DRILL_GALLERY_FULL:
while the flag file exists every shard write fails as a full disk).

An enrollment already taken is kept and waits, RECEIVED; the dedup stage
pauses and says so in the log; new uploads are refused with
RESOURCE_EXHAUSTED and a reason that names the gallery disk, and nothing of
them is kept; once the file is gone the stage resumes on its own, decides
the waiting enrollment, and uploads are taken again. The metric
sidik_dedup_paused is 1 while paused, 0 after.

    gallery_full.py PROTO_DIR PKI PORT METRICS_PORT RECORDS FLAG LOG
"""
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, enrollment, load_stubs, records, wait_decided  # noqa: E402

proto, pki, port, mport, recs, flag, log = sys.argv[1:8]
pb, rpc = load_stubs(proto)
chan = channel(pki, port, "office-JKT-01")
ingest, status = rpc.IngestStub(chan), rpc.StatusStub(chan)
people = records(recs)
fail = 0


def check(what, ok):
    global fail
    print(("ok: " if ok else "FAIL: ") + what)
    fail |= not ok


def upload(e):
    return list(ingest.Upload(iter([e]), timeout=20))[0]


def paused_metric():
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
    return [ln.split()[1] for ln in text.splitlines() if ln.startswith("sidik_dedup_paused ")]


def log_has(text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, encoding="utf-8", errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.05)
    return False


a, b = enrollment(pb, people[0], 9101), enrollment(pb, people[1], 9102)
open(flag, "w").close()
r = upload(a)
check(f"taken while the gallery disk is full (code {r.code})", r.code == 0 and r.journal_seq > 0)
check("the dedup stage pauses and says why",
      log_has('msg="the dedup stage is paused; nothing undecided is lost and it is retried"', 20))
check(f"sidik_dedup_paused is 1 ({paused_metric()})", paused_metric() == ["1"])
r = upload(b)
check(f"a new upload is refused: RESOURCE_EXHAUSTED (code {r.code}, {r.reason!r})",
      r.code == 8 and "gallery disk is full" in r.reason and r.journal_seq == 0)
st = status.Get(pb.GetStatusRequest(enrollment_id=a.enrollment_id), timeout=10)
check(f"the taken one waits RECEIVED ({pb.EnrollmentStatus.Name(st.status)})",
      st.status == pb.RECEIVED)
code = None
try:
    status.Get(pb.GetStatusRequest(enrollment_id=b.enrollment_id), timeout=10)
except Exception as e:  # grpc.RpcError
    code = e.code().name
check(f"nothing of the refused one is kept ({code})", code == "NOT_FOUND")

os.remove(flag)
st = wait_decided(pb, status, [a.enrollment_id], timeout=60)[a.enrollment_id]
check(f"resumed by itself: the waiting one is decided ({pb.EnrollmentStatus.Name(st.status)})",
      st.status == pb.PRINT_READY)
check("the log says the stage works again", log_has('msg="the dedup stage works again"', 5))
check(f"sidik_dedup_paused is 0 ({paused_metric()})", paused_metric() == ["0"])
r = upload(b)
check(f"uploads are taken again (code {r.code})", r.code == 0 and r.journal_seq > 0)
st = wait_decided(pb, status, [b.enrollment_id], timeout=60)[b.enrollment_id]
check(f"and decided ({pb.EnrollmentStatus.Name(st.status)})", st.status == pb.PRINT_READY)
sys.exit(fail)
