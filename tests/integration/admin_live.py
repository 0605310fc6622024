"""The Admin service against a live sidikd with 2,000 preloaded persons in
one shard, from a stock grpcio client over mutual TLS:

    admin_live.py PROTO_DIR PKI_DIR PORT RECORDS CHECK_CONFIG_OUTPUT

ListShards shows the one full shard; Stats the 2,000 persons and empty
queues; GetConfig every setting exactly as `sidikd --check-config` printed
it; AddShard twice (new, empty shards); a Rebalance streams monotonic
progress to done with moved == total while an office uploads 40
enrollments, and every record is in exactly one shard after; a Rebalance
the client cancels after its first message leaves the shards consistent,
and the next one (refused with FAILED_PRECONDITION, naming its starter,
only while the cancelled one is still stopping) runs to its end; once the
uploads are decided Stats counts them (persons, print queue, decisions a
second, capacity); office and auditor certificates are PERMISSION_DENIED
on every Admin method, garbage is INVALID_ARGUMENT.
"""
import os
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, code_of, enrollment, load_stubs, records, wait_decided  # noqa: E402

proto_dir, pki, port, records_path, config_path = sys.argv[1:6]
pb, rpc = load_stubs(proto_dir)
failures = []


def check(desc, cond):
    print(("ok: " if cond else "FAIL: ") + desc, flush=True)
    if not cond:
        failures.append(desc)


admin = rpc.AdminStub(channel(pki, port, "admin"))


def shards():
    return list(admin.ListShards(pb.ListShardsRequest(), timeout=10).shards)


def rebalance(max_moves=0):
    """Every progress message of one Rebalance, and its final status code."""
    got = []
    try:
        for m in admin.Rebalance(pb.RebalanceRequest(max_moves=max_moves), timeout=60):
            got.append((m.moved, m.total, m.done))
        return got, grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return got, e.code(), e.details() or ""


def progress_ok(got):
    return (len(got) >= 1 and got[-1][2] and got[-1][0] == got[-1][1]
            and all(not d for _, _, d in got[:-1])
            and all(got[i][0] >= got[i - 1][0] for i in range(1, len(got)))
            and all(m <= t for m, t, _ in got))


# ---- what a fresh node shows ------------------------------------------------------------
s = shards()
check(f"ListShards: one active shard with the 2,000 preloaded (got {[(x.id, x.records, x.state) for x in s]})",
      len(s) == 1 and s[0].id == 0 and s[0].records == 2000 and s[0].bytes > 0
      and s[0].state == "active")
st = admin.Stats(pb.StatsRequest(), timeout=10)
check(f"Stats: 2,000 persons, nothing waiting (got {st})",
      st.gallery_persons == 2000 and st.dedup_queue == 0 and st.review_queue == 0
      and st.print_queue == 0)

want = {}
with open(config_path) as f:
    for line in f:
        k, _, v = line.rstrip("\n").partition(" = ")
        want[k] = v
got = dict(admin.GetConfig(pb.ConfigRequest(), timeout=10).settings)
check(f"GetConfig: every setting as --check-config prints it ({len(want)} keys)",
      got == want and len(want) >= 20 and got["data_dir"] == "data"
      and got["listen"] == "127.0.0.1:0")

ids = [admin.AddShard(pb.AddShardRequest(), timeout=10) for _ in range(2)]
check(f"AddShard twice: shards 1 and 2, empty (got {[(x.id, x.records) for x in ids]})",
      [x.id for x in ids] == [1, 2] and all(x.records == 0 and x.state == "active" for x in ids))

# ---- a rebalance while an office uploads --------------------------------------------------
office = channel(pki, port, "office-JKT-01")
recs = records(records_path)
uploads = [enrollment(pb, r, 5000 + i) for i, r in enumerate(recs)]
receipts = []


def upload():
    for r in rpc.IngestStub(office).Upload(iter(uploads), timeout=60):
        receipts.append(r)
        time.sleep(0.01)  # an office's pace, so the uploads span the rebalance


uploader = threading.Thread(target=upload)
uploader.start()
got, code, details = rebalance()
uploader.join()
check(f"Rebalance streams monotonic progress to done with moved == total "
      f"({len(got)} messages, last {got[-1] if got else None}, {code} {details})",
      code == grpc.StatusCode.OK and progress_ok(got) and got[-1][0] >= 1300)
check(f"the uploads beside it all received ({len(receipts)})",
      len(receipts) == len(uploads) and all(r.code == 0 for r in receipts))
s = shards()
check(f"after it, the shards within one record of each other "
      f"(got {[x.records for x in s]})",
      len(s) == 3 and max(x.records for x in s) - min(x.records for x in s) <= 1 + len(uploads))

# ---- a cancelled one, then the next ---------------------------------------------------------
admin.AddShard(pb.AddShardRequest(), timeout=10)
call = admin.Rebalance(pb.RebalanceRequest(), timeout=60)
first = next(call)
call.cancel()
check(f"a Rebalance the client cancels after its first message ({first.moved}/{first.total})",
      not first.done and first.total > 0)
refused, finished = [], None
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    got, code, details = rebalance()
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        refused.append(details)
        time.sleep(0.05)
        continue
    finished = (got, code, details)
    break
check(f"while the cancelled one stops, another is refused naming who started it ({refused[:1]})",
      all("a rebalance is already running (started by admin:admin.budi)" == d for d in refused))
check(f"then the next runs to its end ({finished and finished[0][-1:]})",
      finished is not None and finished[1] == grpc.StatusCode.OK and progress_ok(finished[0]))

# ---- the uploads decided, counted -------------------------------------------------------------
state = wait_decided(pb, rpc.StatusStub(office), [e.enrollment_id for e in uploads], timeout=60)
ready = sum(1 for x in state.values() if x.status == pb.PRINT_READY)
review = sum(1 for x in state.values() if x.status == pb.ADJUDICATE)
st = admin.Stats(pb.StatsRequest(), timeout=10)
s = shards()
check(f"Stats after the uploads: {2000 + ready} persons, {review} to review, {ready} to print, "
      f"nothing waiting, decisions a second and capacity measured (got {st})",
      st.gallery_persons == 2000 + ready and st.review_queue == review
      and st.print_queue == ready and st.dedup_queue == 0 and st.decided_per_second > 0
      and st.capacity_per_day > 0)
check(f"every person in exactly one shard ({sum(x.records for x in s)} records over {len(s)} shards)",
      sum(x.records for x in s) == st.gallery_persons
      and max(x.records for x in s) - min(x.records for x in s) <= 1 + len(uploads))

# ---- who may not ------------------------------------------------------------------------------------
for name in ("office-JKT-01", "auditor", "printer"):
    other = rpc.AdminStub(channel(pki, port, name))
    calls = {
        "ListShards": lambda: other.ListShards(pb.ListShardsRequest(), timeout=10),
        "AddShard": lambda: other.AddShard(pb.AddShardRequest(), timeout=10),
        "Stats": lambda: other.Stats(pb.StatsRequest(), timeout=10),
        "GetConfig": lambda: other.GetConfig(pb.ConfigRequest(), timeout=10),
        "Rebalance": lambda: list(other.Rebalance(pb.RebalanceRequest(), timeout=10)),
    }
    codes = {m: code_of(fn)[0] for m, fn in calls.items()}
    check(f"{name}: every Admin method PERMISSION_DENIED ({set(codes.values())})",
          all(c == grpc.StatusCode.PERMISSION_DENIED for c in codes.values()))
check("and none of them added a shard", len(shards()) == 4)

raw = channel(pki, port, "admin").unary_unary(
    "/sidik.v1.Admin/Stats", request_serializer=lambda b: b, response_deserializer=lambda b: b)
code, details = code_of(lambda: raw(b"\xff\xff\xff", timeout=10))
check(f"a Stats request that does not parse: INVALID_ARGUMENT ({code} {details})",
      code == grpc.StatusCode.INVALID_ARGUMENT
      and details == "the request does not parse as a StatsRequest")
code, _ = code_of(lambda: raw(b"\x78\x05", timeout=10))
check(f"unknown fields are skipped ({code})", code == grpc.StatusCode.OK)

sys.exit(1 if failures else 0)
