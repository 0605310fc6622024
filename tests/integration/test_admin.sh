#!/bin/sh
# The Admin service live (admin_live.py): 2,000 persons preloaded into one
# shard, shards listed and added, a Rebalance streamed to its end while an
# office uploads, a cancelled one, Stats and GetConfig checked, other roles
# refused. Then SIGTERM while a Rebalance streams: sidikd stops with status
# 0 (the stream ends UNAVAILABLE, or done if it finished first), and on
# restart every person is in exactly one shard.
#   test_admin.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
sh "$src/deploy/pki.sh" pki >/dev/null
"$sidik" gen --persons 2000 --reenroll-rate 0 --seed 99 --out old >/dev/null 2>&1
"$sidik" gen --persons 40 --reenroll-rate 0 --seed 7 --out gen >/dev/null 2>&1
live_conf
"$sidik" preload --data data --records old/records.iso >/dev/null
check "2,000 persons preloaded" $?
"$sidikd" --config sidikd.conf --check-config > check-config.txt
check "sidikd --check-config" $?
live_start

/usr/bin/python3 "$src/tests/integration/admin_live.py" "$src/proto" pki "$port" \
    gen/records.iso check-config.txt
check "Admin: shards, rebalance while uploading, stats, config, roles" $?

live_stop
rc=$?
[ "$rc" -eq 0 ]; check "SIGTERM stops it with status 0 (got $rc)" $?

# SIGTERM while a Rebalance streams: a fifth shard makes work for it, and
# the drill holds each of its batches 300 ms so the signal lands mid-way.
mv log log.1
SIDIK_DRILL_SLOW_REBALANCE_MS=300 live_start
/usr/bin/python3 - "$src" pki "$port" > stream.out 2>&1 <<'PY' &
import sys, grpc
sys.path.insert(0, sys.argv[1] + "/tests/integration")
from sidik_client import channel, load_stubs
pb, rpc = load_stubs(sys.argv[1] + "/proto")
admin = rpc.AdminStub(channel(sys.argv[2], sys.argv[3], "admin"))
admin.AddShard(pb.AddShardRequest(), timeout=10)
last = None
try:
    for m in admin.Rebalance(pb.RebalanceRequest(), timeout=60):
        if last is None:
            print("started", flush=True)
        last = m
    print(f"finished {last.moved}/{last.total} done={last.done}", flush=True)
    sys.exit(1)
except grpc.RpcError as e:
    print(f"ended {e.code()} {e.details()}", flush=True)
    sys.exit(0 if e.code() == grpc.StatusCode.UNAVAILABLE and "sidikd is stopping" in e.details()
             else 1)
PY
client=$!
for _ in $(seq 1 100); do grep -q started stream.out 2>/dev/null && break; sleep 0.05; done
started=$(date +%s%N)
live_stop
rc=$?
took=$(( ($(date +%s%N) - started) / 1000000 ))
[ "$rc" -eq 0 ] && [ "$took" -lt 3000 ]
check "SIGTERM while a Rebalance streams: sidikd stops with status 0 in ${took} ms (got $rc)" $?
wait "$client"
check "the stream ended UNAVAILABLE, saying why: $(tail -n 1 stream.out)" $?
grep -q 'msg="admin rebalance ended".*error=SIDIK_ESHUTDOWN' log
check "the rebalance stopped for the shutdown (logged)" $?

mv log log.2
live_start
/usr/bin/python3 - "$src" pki "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/integration")
from sidik_client import channel, load_stubs
pb, rpc = load_stubs(sys.argv[1] + "/proto")
admin = rpc.AdminStub(channel(sys.argv[2], sys.argv[3], "admin"))
s = admin.ListShards(pb.ListShardsRequest(), timeout=10).shards
st = admin.Stats(pb.StatsRequest(), timeout=10)
total = sum(x.records for x in s)
sys.exit(0 if len(s) == 5 and total == st.gallery_persons and total >= 2000
         else f"{len(s)} shards, {total} records, {st.gallery_persons} persons")
PY
check "restarted: five shards, every person in exactly one" $?
live_stop
rc=$?
[ "$rc" -eq 0 ]; check "SIGTERM stops it with status 0 (got $rc)" $?
[ $fail -eq 0 ] || cat log.1 log.2 log
exit $fail
