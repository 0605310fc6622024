"""`make demo`'s fleet of offices: a day's enrollments, scaled to a couple
of minutes, uploaded by eight regional offices to a live sidikd, with
planted duplicates and offices whose link goes down and comes back; live
progress from sidikd's /metrics, and a report checked against what was
planted.

    demo_fleet.py niks COUNT                     the preloaded persons' NIKs
    demo_fleet.py run PROTO PKI PORT MPORT DEMO  the fleet

DEMO holds `sidik gen` output: old/ (the preloaded gallery, seed 7),
again/ (second captures of the first old persons), new/ (new persons, seed
8, some re-enrolled within the day). What is planted, each with what the
centre must answer:
  - new persons                               PRINT_READY
  - new persons captured twice in the day     the second DUPLICATE
  - old persons re-enrolling, their own NIK   DUPLICATE (a re-enrollment)
  - old persons under another NIK             DUPLICATE (the fraud case)
  - new persons giving an old person's NIK    ADJUDICATE (a person decides)
Run by deploy/demo.sh with /usr/bin/python3 (Debian's grpcio).
"""
import csv
import hashlib
import os
import random
import sys
import threading
import time
import urllib.request
import uuid

import grpc

OFFICES = [("JKT-01", "317101"), ("BDG-02", "327301"), ("SBY-03", "357801"),
           ("MDN-04", "127501"), ("MKS-05", "737101"), ("DPS-06", "517101"),
           ("SMG-07", "337401"), ("PLG-08", "167101")]
OFFLINE = {"MDN-04": (20, 45), "MKS-05": (50, 80)}  # link down from..to (seconds)
DAY_SECONDS = float(os.environ.get("DEMO_DAY_SECONDS", "90"))  # the day, scaled


def person_nik(region, i, serial_base):
    """A structurally valid NIK and its birth date for person i: the date
    walks the calendar, the serial counts on from serial_base."""
    day, month, year = 1 + i % 28, 1 + (i // 28) % 12, 1950 + (i // 336) % 50
    serial = serial_base + i // 16800
    return f"{region}{day:02d}{month:02d}{year % 100:02d}{serial:04d}", f"{year}-{month:02d}-{day:02d}"


def old_nik(i):
    return person_nik("317101", i, 5001)  # serials 5001..: never a new person's


if sys.argv[1] == "niks":
    for i in range(int(sys.argv[2])):
        print(old_nik(i)[0])
    sys.exit(0)

proto_dir, pki, port, mport, demo = sys.argv[2:7]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from sidik_client import channel, load_stubs, positions, records  # noqa: E402

pb, rpc = load_stubs(proto_dir)
rng = random.Random(20261122)


def enrollment(record, office, region, nik, birth):
    face = hashlib.sha256(nik.encode()).digest() * 8
    return pb.Enrollment(
        enrollment_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        office_code=office, capture_time_ms=int(time.time() * 1000), station_id="ST-01",
        demographics=pb.Demographics(nik=nik, full_name="Warga Demo", birth_place="Jakarta",
                                     birth_date=birth, sex=pb.MALE, address="Jl. Merdeka 1",
                                     region_code=region),
        fingers=[pb.FingerRecord(position=p, format=pb.ISO_19794_2_2005, template=record, nfiq=2)
                 for p in sorted(positions(record))],  # a finger not captured is not sent
        attachments=[pb.Attachment(kind=pb.FACE, media_type="image/jpeg",
                                   sha256=hashlib.sha256(face).digest(), data=face)])


# ---- the day's work, planted ------------------------------------------------------

new_recs = records(os.path.join(demo, "new", "records.iso"))
with open(os.path.join(demo, "new", "truth.csv")) as f:
    truth = list(csv.DictReader(f))
again = records(os.path.join(demo, "again", "records.iso"))[1::2]  # impression 1 of each

# Each item: [record, office, region, NIK, birth date, kind, person]. A new
# person re-enrolled within the day may reach the centre in either order
# (an office offline holds its captures back), so the answer is checked per
# person: exactly one of their enrollments PRINT_READY, the others DUPLICATE.
work = []
times = {}
for row in truth:
    times[row["person"]] = times.get(row["person"], 0) + 1
for k, (row, rec) in enumerate(zip(truth, new_recs)):
    office, region = OFFICES[k % len(OFFICES)]
    nik, birth = person_nik(region, int(row["person"]), 1)
    kind = "new person, enrolled twice" if times[row["person"]] > 1 else "new person"
    work.append([rec, office, region, nik, birth, kind, "new " + row["person"]])
for i, rec in enumerate(again):
    office, region = OFFICES[rng.randrange(len(OFFICES))]
    if i % 6 == 5:
        nik, birth = person_nik(region, 900000 + i, 1)  # someone else's identity
        kind = "old person, another NIK"
    else:
        nik, birth = old_nik(i)
        kind = "old person re-enrolling"
    work.insert(rng.randrange(len(work) + 1), [rec, office, region, nik, birth, kind, f"old {i}"])
# New persons (enrolled once) claiming old persons' NIKs, late in the day.
claims = [w for w in work if w[5] == "new person"][-5:]
for j, w in enumerate(claims):
    w[3], w[4] = old_nik(1000 + j)
    w[5] = "new person, an enrolled NIK"
WANT = {"new person": "one PRINT_READY", "new person, enrolled twice": "one PRINT_READY, then DUPLICATE",
        "old person re-enrolling": "DUPLICATE", "old person, another NIK": "DUPLICATE",
        "new person, an enrolled NIK": "ADJUDICATE"}
queues = {code: [] for code, _ in OFFICES}
for w in work:
    queues[w[1]].append(w)

# ---- the offices ----------------------------------------------------------------

lock = threading.Lock()
sent_ids = {}     # enrollment id -> work item
receipts = 0
refused = []      # receipts that were not code 0
offline_now = set()
t0 = time.monotonic()


class Office(threading.Thread):
    def __init__(self, code):
        super().__init__(daemon=True)
        self.code, self.queue, self.backlog_peak = code, queues[code], 0

    def messages(self, items):
        for w in items:
            e = enrollment(w[0], self.code, w[2], w[3], w[4])
            with lock:
                sent_ids[e.enrollment_id] = w
            yield e

    def run(self):
        global receipts
        chan = channel(pki, port, f"office-{self.code}",
                       options=[("grpc.use_local_subchannel_pool", 1)])
        stub = rpc.IngestStub(chan)
        pace = DAY_SECONDS / max(1, len(self.queue))
        spool, i = [], 0
        while i < len(self.queue) or spool:
            now = time.monotonic() - t0
            down = OFFLINE.get(self.code)
            if i < len(self.queue) and now >= i * pace:
                spool.append(self.queue[i])  # captured at the office
                i += 1
            if down and down[0] <= now < down[1]:
                with lock:
                    offline_now.add(self.code)
                self.backlog_peak = max(self.backlog_peak, len(spool))
                time.sleep(0.05)
                continue
            with lock:
                offline_now.discard(self.code)
            if spool:
                batch, spool = spool, []
                got = list(stub.Upload(self.messages(batch), timeout=120))
                with lock:
                    receipts += sum(1 for r in got if r.code == 0)
                    refused.extend(r for r in got if r.code != 0)
            else:
                time.sleep(0.05)
        chan.close()


def metrics():
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def count(m, status):
    return int(m.get(f'sidik_enrollments_total{{status="{status}"}}', 0))


offices = [Office(code) for code, _ in OFFICES]
planted = sum(1 for w in work if w[5].startswith("old")) + \
    sum(n - 1 for n in times.values())
print(f"{len(work)} enrollments from {len(OFFICES)} offices over {DAY_SECONDS} s; planted: "
      f"{planted} duplicates, {len(claims)} NIK conflicts; {' and '.join(OFFLINE)} lose their "
      f"link for a while", flush=True)
for o in offices:
    o.start()
decided = 0
while any(o.is_alive() for o in offices) or decided < receipts:
    time.sleep(3)
    m = metrics()
    decided = sum(count(m, s) for s in ("PRINT_READY", "DUPLICATE", "ADJUDICATE"))
    with lock:
        off = ",".join(sorted(offline_now)) or "none"
        got = receipts
    print(f"  {time.monotonic() - t0:5.0f}s  receipted {got:5d}  decided {decided:5d}  "
          f"print-ready {count(m, 'PRINT_READY'):5d}  duplicate {count(m, 'DUPLICATE'):4d}  "
          f"review {count(m, 'ADJUDICATE'):3d}  dedup queue {int(m.get('sidik_dedup_queue', 0)):4d}"
          f"  offline: {off}", flush=True)
    if time.monotonic() - t0 > DAY_SECONDS + 240:
        print("the centre did not decide everything within 4 minutes of the day's end")
        break
elapsed = time.monotonic() - t0

# ---- the report ---------------------------------------------------------------------

states = {}
for code, _ in OFFICES:
    status = rpc.StatusStub(channel(pki, port, f"office-{code}"))
    token = ""
    while True:
        page = status.List(pb.ListStatusRequest(page_size=1000, page_token=token), timeout=10)
        states.update((e.enrollment_id, e.status) for e in page.enrollments)
        token = page.next_page_token
        if not token:
            break
persons = {}
for eid, w in sent_ids.items():
    persons.setdefault(w[6], []).append((w[5], states.get(eid)))
by_kind = {}  # kind -> [persons, answered as planted]
dup_caught = false_dup = 0
for key, got in persons.items():
    kind = got[0][0]
    st = [s for _, s in got]
    if kind.startswith("old"):
        right = st == [pb.DUPLICATE]
        dup_caught += right
    elif kind == "new person, an enrolled NIK":
        right = st == [pb.ADJUDICATE]
    else:
        right = st.count(pb.PRINT_READY) == 1 and st.count(pb.DUPLICATE) == len(st) - 1
        dup_caught += min(st.count(pb.DUPLICATE), len(st) - 1)
        false_dup += st.count(pb.PRINT_READY) == 0 and pb.DUPLICATE in st
    k = by_kind.setdefault(kind, [0, 0])
    k[0] += 1
    k[1] += right
m = metrics()
hist_n = m.get("sidik_decision_seconds_count", 0)
mean = m.get("sidik_decision_seconds_sum", 0) / hist_n if hist_n else 0
print()
print("== report")
print(f"received            {len(states)} of {len(work)} sent (every office's backlog drained: "
      f"peaks {', '.join(f'{o.code} {o.backlog_peak}' for o in offices if o.backlog_peak)})")
for r in refused[:5]:
    print(f"refused             {r.enrollment_id}: {r.reason} "
          f"{[(fe.field, fe.reason_code) for fe in r.field_errors]}")
print(f"print-ready         {count(m, 'PRINT_READY')}  (unique persons, queued for their regency)")
print(f"duplicates caught   {dup_caught} of {planted} planted; {false_dup} new persons with no "
      f"PRINT_READY")
print(f"reviews             {count(m, 'ADJUDICATE')}  (gray zone, a NIK already enrolled or in review, or fingers matching one in review)")
for kind, (n, right) in sorted(by_kind.items()):
    print(f"  {kind:28s} {n:5d} persons, {right:5d} answered as planted ({WANT[kind]})")
print(f"throughput          {len(states) / elapsed:.1f} enrollments/s received and decided over "
      f"{elapsed:.0f} s, the offices' pace (the old system's licence: 50,000 a day, 0.6/s); "
      f"receipt to decision {mean:.2f} s on average")
ok = all(right == n for n, right in by_kind.values()) and len(states) == len(work)
sys.exit(0 if ok else 1)
