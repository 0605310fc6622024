"""A graceful stop keeps its word: every enrollment sidikd accepted before
SIGTERM is answered before the connection closes.

    graceful_stop.py stop PROTO_DIR PKI_DIR PORT RECORDS SIDIKD_PID STATE
        streams enrollments on one Upload, sends SIGTERM to sidikd once the
        first receipt is in, reads receipts until the stream ends, and
        writes the ids sent and the ids receipted to STATE;
    graceful_stop.py verify PROTO_DIR PKI_DIR PORT STATE
        against the restarted sidikd: every enrollment of that stream the
        server holds got its receipt, and every receipted one is held.
"""
import json
import os
import signal
import sys
import threading

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, enrollment, load_stubs, records  # noqa: E402

mode, proto_dir, pki, port = sys.argv[1:5]
pb, rpc = load_stubs(proto_dir)
office = channel(pki, port, "office-JKT-01")

if mode == "stop":
    records_path, pid, state_path = sys.argv[5:8]
    recs = records(records_path)
    sent = [enrollment(pb, recs[i % len(recs)], 1000 + i) for i in range(400)]
    first_in = threading.Event()
    receipted, ended = [], None
    try:
        for r in rpc.IngestStub(office).Upload(iter(sent), timeout=60):
            if r.code == 0:
                receipted.append(r.enrollment_id)
            if not first_in.is_set():
                first_in.set()
                os.kill(int(pid), signal.SIGTERM)
    except grpc.RpcError as e:
        ended = f"{e.code()}: {e.details()}"
    with open(state_path, "w") as f:
        json.dump({"sent": [e.enrollment_id for e in sent], "receipted": receipted}, f)
    print(f"sent {len(sent)}, receipted {len(receipted)} before the stream ended ({ended})")
    sys.exit(0 if receipted else "no receipt at all")

state_path = sys.argv[5]
with open(state_path) as f:
    state = json.load(f)
status = rpc.StatusStub(office)
held, token = set(), ""
while True:
    page = status.List(pb.ListStatusRequest(page_size=1000, page_token=token), timeout=10)
    held.update(e.enrollment_id for e in page.enrollments)
    token = page.next_page_token
    if not token:
        break
sent, receipted = set(state["sent"]), set(state["receipted"])
unanswered = (held & sent) - receipted
lost = receipted - held
print(f"held {len(held & sent)} of the {len(sent)} sent; {len(receipted)} receipted; "
      f"held without receipt: {len(unanswered)}; receipted but missing: {len(lost)}")
sys.exit(0 if not unanswered and not lost else 1)
