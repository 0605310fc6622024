"""The pipeline end to end against a live sidikd with a preloaded gallery:
enrollments offered at a steady rate by four offices, then the time from
receipt to decision (and to PRINT_READY) read back from each office's
Status.List history. Prints figures; run by bench/bench_e2e.sh.

    bench_e2e.py PROTO PKI PORT NEW_RECORDS AGAIN_RECORDS RATE SECONDS
"""
import hashlib
import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from sidik_client import channel, load_stubs, positions, records  # noqa: E402


proto_dir, pki, port, new_path, again_path = sys.argv[1:6]
rate, seconds = float(sys.argv[6]), float(sys.argv[7])
pb, rpc = load_stubs(proto_dir)
OFFICES = [("JKT-01", "317101"), ("BDG-02", "327301")]
fresh = records(new_path)
again = records(again_path)[1::2]  # second captures of preloaded persons


def enrollment(record, office, region, serial):
    face = hashlib.sha256(str(serial).encode()).digest() * 8
    day, month, year = 1 + serial % 28, 1 + (serial // 28) % 12, 1950 + (serial // 336) % 50
    nik = f"{region}{day:02d}{month:02d}{year % 100:02d}{1 + serial // 16800:04d}"
    return pb.Enrollment(
        enrollment_id=str(uuid.uuid4()), office_code=office,
        capture_time_ms=int(time.time() * 1000), station_id="ST-01",
        demographics=pb.Demographics(nik=nik, full_name="Warga", birth_place="Jakarta",
                                     birth_date=f"{year}-{month:02d}-{day:02d}", sex=pb.MALE,
                                     address="Jl. Merdeka 1", region_code=region),
        fingers=[pb.FingerRecord(position=p, format=pb.ISO_19794_2_2005, template=record, nfiq=2)
                 for p in sorted(positions(record))],
        attachments=[pb.Attachment(kind=pb.FACE, media_type="image/jpeg",
                                   sha256=hashlib.sha256(face).digest(), data=face)])


# 2% re-captures of preloaded persons among new persons, spread evenly.
total = int(rate * seconds)
plan = []
for k in range(total):
    if k % 50 == 49 and k // 50 < len(again):
        plan.append(again[k // 50])
    else:
        plan.append(fresh[k % len(fresh)])
sent = {code: [] for code, _ in OFFICES}
t0 = time.monotonic()


def office(idx):
    code, region = OFFICES[idx]
    stub = rpc.IngestStub(channel(pki, port, f"office-{code}",
                                  options=[("grpc.use_local_subchannel_pool", 1)]))

    def messages():
        for k in range(idx, total, len(OFFICES)):
            wait = t0 + k / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            e = enrollment(plan[k], code, region, 100000 + k)
            sent[code].append(e.enrollment_id)
            yield e
    for r in stub.Upload(messages(), timeout=seconds + 600):
        if r.code != 0:
            print(f"refused: {r.enrollment_id} {[(f.field, f.reason_code) for f in r.field_errors]}",
                  flush=True)


threads = [threading.Thread(target=office, args=(i,)) for i in range(len(OFFICES))]
for t in threads:
    t.start()
for t in threads:
    t.join()
offered = time.monotonic() - t0
print(f"offered {total} enrollments in {offered:.1f} s ({total / offered:.1f}/s); waiting for "
      f"the decisions", flush=True)

decided_states = {}
deadline = time.monotonic() + 1800
while True:
    states = {}
    for code, _ in OFFICES:
        status = rpc.StatusStub(channel(pki, port, f"office-{code}"))
        token = ""
        while True:
            page = status.List(pb.ListStatusRequest(page_size=1000, page_token=token), timeout=30)
            states.update((e.enrollment_id, e) for e in page.enrollments)
            token = page.next_page_token
            if not token:
                break
    waiting = sum(1 for e in states.values() if len(e.history) < 2)
    if waiting == 0 or time.monotonic() > deadline:
        break
    print(f"  {time.monotonic() - t0:6.0f}s  {waiting} still to decide", flush=True)
    time.sleep(10)
done = [e for e in states.values() if len(e.history) >= 2]
if not done:
    sys.exit(f"nothing decided of {len(states)} received")
lat = sorted((e.history[1].time_ms - e.history[0].time_ms) / 1000 for e in done)
ready = sorted((e.history[1].time_ms - e.history[0].time_ms) / 1000 for e in done
               if e.history[1].status == pb.PRINT_READY)
first = min(e.history[0].time_ms for e in done)
last = min(max(e.history[1].time_ms for e in done), first + 10**12)
span = (last - first) / 1000


def pct(xs, p):
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


print(f"decided {len(done)} of {len(states)} received; {len(done) / span:.1f} decided/s from the "
      f"first receipt to the last decision ({span:.0f} s)")
print(f"receipt -> decision    p50 {pct(lat, 0.5):.2f} s  p99 {pct(lat, 0.99):.2f} s  "
      f"max {lat[-1] if lat else float('nan'):.2f} s")
print(f"receipt -> PRINT_READY p50 {pct(ready, 0.5):.2f} s  p99 {pct(ready, 0.99):.2f} s  "
      f"({len(ready)} PRINT_READY, {sum(1 for e in done if e.history[1].status == pb.DUPLICATE)} "
      f"DUPLICATE, {sum(1 for e in done if e.history[1].status == pb.ADJUDICATE)} ADJUDICATE)")
print(f"mean {statistics.mean(lat) if lat else float('nan'):.2f} s")
