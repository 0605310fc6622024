"""Nothing acknowledged is ever lost, nothing is decided twice: sidikd is
killed (SIGKILL) in the middle of a busy pipeline (concurrent uploads, the
dedup stage deciding behind them), restarted on the same data, and checked,
round after round.

Run by test_ingest_crash.sh with /usr/bin/python3:

    ingest_crash.py SIDIKD CONF PROTO_DIR PKI_DIR RECORDS WORK_DIR ROUNDS [SEED]

CONF's data_dir accumulates over every round. Each round:
  1. 2-4 Upload streams, each on its own connection (so on any of the
     server's loops), send fresh enrollments (a new uuid each, serials
     repeating), plus a few resends of what earlier rounds sent without
     getting a receipt, plus "twins" (one id sent on two streams at once).
     Every id sent is appended to WORK_DIR/sent.log and every Receipt to
     WORK_DIR/receipts.log, one JSON line each, flushed as it comes;
  2. 0.2-1.5 s after the uploads start sidikd gets SIGKILL; the streams end
     with an RpcError and what they received is kept;
  3. sidikd is started again on the same data; its log must show the
     journal open line (next_seq beyond every acknowledged sequence) and
     the replayed count (no more than the ids it holds now that it did not
     hold nor acknowledge before);
  4. Status.Get: every enrollment with a code-0 receipt this round is
     there, history[0] RECEIVED at its receipt's received_time_ms, then at
     most one decision (PRINT_READY, DUPLICATE or ADJUDICATE), which is
     its status; a decision once seen never changes (status and time)
     in any later round;
     Status.List (all pages): every id exactly once, every id ever
     acknowledged present with its receipt's time, nothing never sent;
     every receipt of every round agrees per id (one journal_seq, one
     received time, at most one that is not a resend) and no journal_seq
     belongs to two ids; a resend of one acknowledged enrollment (the exact
     bytes, regenerated from its id, serial and capture time) gets
     resend=True and its journal_seq.
Finally SIGTERM must stop sidikd with status 0, and one more start (nothing
to replay: replayed=0) must still hold everything; with SIDIK_CRASH_DECIDE=S
it must also decide every enrollment, never S seconds without a decision
(a stalled stage fails; a slow one, as under the sanitizers, is given the
time its work takes), each once, and each person (serial modulo the
records) exactly once PRINT_READY.

With SIDIK_CRASH_PRINT=1 a print station (printer 31.71) leases and
acknowledges beside the uploads in every round, killed with them: no
authorisation is leased again once its Ack was answered, the same id
always comes with the same signed bytes, an acknowledged print is never
lost, and after the last start, draining the queue (leases the kills left
run out and come back) prints each person's card exactly once.

Exits 1 with a FAIL line per problem (naming the round and the id).
"""
import collections
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, enrollment, load_stubs, records  # noqa: E402

sidikd_path, conf, proto_dir, pki, records_path, work, rounds = sys.argv[1:8]
rounds = int(rounds)
seed = int(sys.argv[8]) if len(sys.argv) > 8 and sys.argv[8] else random.randrange(1 << 30)
rng = random.Random(seed)
pb, rpc = load_stubs(proto_dir)
recs = records(records_path)
RECEIVED = pb.RECEIVED
DECIDED = (pb.PRINT_READY, pb.DUPLICATE, pb.ADJUDICATE)
RATE = float(os.environ.get("SIDIK_CRASH_RATE", "250"))  # enrollments/s per stream
# Seconds the last start has to decide everything held (0: not waited for;
# at the default rate the uploads outrun the dedup stage by far).
DECIDE_WAIT = float(os.environ.get("SIDIK_CRASH_DECIDE", "0"))
# A print station (printer 31.71, every enrollment's regency) leasing and
# acknowledging beside the uploads; CONF's print_lease should be short.
PRINT = os.environ.get("SIDIK_CRASH_PRINT") == "1"
PRINTED = pb.PRINTED
BURST = 16

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def die(msg):
    fail(msg)
    finish()


# ---- sidikd -------------------------------------------------------------------

class Server:
    def __init__(self):
        self.proc = None
        self.log = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log = os.path.join(work, f"sidikd.{self.starts}.log")
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sidikd_path, "--config", conf], stderr=err,
                                         stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = re.search(r'msg="listening".*?port=(\d+)', self.text())
            if m:
                self.port = int(m.group(1))
                return self.port
            if self.proc.poll() is not None:
                die(f"start {self.starts}: sidikd exited with {self.proc.returncode}:\n{self.text()}")
            time.sleep(0.02)
        die(f"start {self.starts}: sidikd did not listen within 15 s (hang in journal replay?):\n"
            f"{self.text()}")

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def term(self, timeout=15):
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


server = Server()


def finish():
    if server.proc is not None and server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()
    if failures:
        print(f"{len(failures)} failure(s); seed {seed} (SIDIK_CRASH_SEED={seed} to replay); "
              f"work dir {os.path.abspath(work)}; last sidikd log {server.log}:", flush=True)
        if server.log:
            print(server.text()[-4000:], flush=True)
    os._exit(1 if failures else 0)


# ---- what was sent and what came back ----------------------------------------------

class Ledger:
    """sent.log and receipts.log, written line by line (flushed), and the
    same in memory."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent_f = open(os.path.join(work, "sent.log"), "a")
        self.rcpt_f = open(os.path.join(work, "receipts.log"), "a")
        self.sent = {}            # id -> (serial, capture_ms, round first sent)
        self.receipts = []        # dicts, every round
        self.acked = {}           # id -> first code-0 receipt
        self.unacked = []         # ids sent, never answered (candidates to resend)
        self.decided = {}         # id -> ((status, time_ms), round first seen)
        self.authorised = {}      # id -> (payload, signature) first leased
        self.printed = {}         # id -> round its Ack was answered
        self.leased_again = 0     # leases that came back after a kill

    def note_lease(self, a, rnd):
        """An authorisation leased: never one already printed, and the same
        bytes whenever the same id comes back (authorised once)."""
        with self.lock:
            if a.enrollment_id in self.printed:
                fail(f"round {rnd}: {a.enrollment_id} leased again after its Ack in round "
                     f"{self.printed[a.enrollment_id]}: it would be printed twice")
            if a.enrollment_id in self.authorised:
                self.leased_again += 1
            first = self.authorised.setdefault(a.enrollment_id, (a.payload, a.signature))
            if first != (a.payload, a.signature):
                fail(f"round {rnd}: {a.enrollment_id} authorised twice with different bytes")

    def note_printed(self, ids, rnd):
        with self.lock:
            for eid in ids:
                self.printed.setdefault(eid, rnd)

    def note_sent(self, eid, serial, capture_ms, rnd):
        with self.lock:
            if eid not in self.sent:
                self.sent[eid] = (serial, capture_ms, rnd)
                self.sent_f.write(json.dumps({"id": eid, "serial": serial, "capture_ms": capture_ms,
                                              "round": rnd}) + "\n")
                self.sent_f.flush()

    def note_receipt(self, r, rnd, stream):
        d = {"id": r.enrollment_id, "seq": r.journal_seq, "received": r.received_time_ms,
             "code": r.code, "status": r.status, "resend": r.resend, "reason": r.reason,
             "round": rnd, "stream": stream}
        with self.lock:
            self.rcpt_f.write(json.dumps(d) + "\n")
            self.rcpt_f.flush()
            self.receipts.append(d)
            if r.code == 0 and r.enrollment_id not in self.acked:
                self.acked[r.enrollment_id] = d
        return d


ledger = Ledger()
serials = itertools.count(1)


def regenerate(eid):
    """The exact bytes sent for eid (an Enrollment is a function of its id,
    serial and capture time)."""
    serial, capture_ms, _ = ledger.sent[eid]
    e = enrollment(pb, recs[serial % len(recs)], serial, enrollment_id=eid)
    e.capture_time_ms = capture_ms
    return e


def fresh(rnd):
    serial = 1 + next(serials) % 9999
    e = enrollment(pb, recs[serial % len(recs)], serial)
    ledger.note_sent(e.enrollment_id, serial, e.capture_time_ms, rnd)
    return e


def office_channel(port):
    # own subchannel pool: each stream its own TCP connection
    return channel(pki, port, "office-JKT-01", options=[("grpc.use_local_subchannel_pool", 1)])


# ---- one round's uploads ------------------------------------------------------------

class Stream(threading.Thread):
    def __init__(self, rnd, idx, port, first, stop):
        super().__init__(daemon=True)
        self.rnd, self.idx, self.stop = rnd, idx, stop
        self.first = first         # Enrollments sent before the fresh ones
        self.chan = office_channel(port)
        self.order = collections.deque()
        self.order_lock = threading.Lock()
        self.got = []
        self.ended = None
        self.call = None

    def messages(self):
        for e in self.first:
            with self.order_lock:
                self.order.append(e.enrollment_id)
            yield e
        # paced in bursts, so many are in flight at the kill but the data
        # dir stays small (an Enrollment here is ~26 KB)
        t = time.monotonic()
        while not self.stop.is_set():
            for _ in range(rng.randint(1, 2 * BURST)):
                e = fresh(self.rnd)
                with self.order_lock:
                    self.order.append(e.enrollment_id)
                yield e
            t = max(t + BURST / RATE, time.monotonic() - 1)
            self.stop.wait(max(0.0, t - time.monotonic()))

    def run(self):
        try:
            self.call = rpc.IngestStub(self.chan).Upload(self.messages(), timeout=60)
            for r in self.call:
                d = ledger.note_receipt(r, self.rnd, self.idx)
                self.got.append(d)
                with self.order_lock:
                    want = self.order.popleft() if self.order else None
                if want != r.enrollment_id:
                    fail(f"round {self.rnd} stream {self.idx}: receipt for {r.enrollment_id} "
                         f"where {want} was next in the order sent")
                if r.code != 0 or not (r.status == RECEIVED or
                                       r.resend and r.status in DECIDED + (PRINTED,)):
                    fail(f"round {self.rnd} stream {self.idx}: {r.enrollment_id} answered code "
                         f"{r.code} status {r.status} ({r.reason!r}); a valid enrollment "
                         f"must be RECEIVED (a resend: RECEIVED or its decision)")
        except grpc.RpcError as e:
            self.ended = e.code()
        finally:
            self.chan.close()


class Station(threading.Thread):
    """A print station: leases, then acknowledges all it leased, until the
    round's kill (or, draining, until nothing is left to lease)."""

    def __init__(self, rnd, port, stop, dying, drain=False):
        super().__init__(daemon=True)
        self.rnd, self.stop, self.dying, self.drain = rnd, stop, dying, drain
        self.chan = channel(pki, port, "printer", options=[("grpc.use_local_subchannel_pool", 1)])
        self.acked = 0
        self.pace = random.Random(seed + rnd)

    def run(self):
        stub = rpc.PrintStub(self.chan)
        idle_since = time.monotonic()
        try:
            while not self.stop.is_set():
                lease = stub.Lease(pb.LeaseRequest(max=64), timeout=10)
                ids = [a.enrollment_id for a in lease.authorisations]
                for a in lease.authorisations:
                    ledger.note_lease(a, self.rnd)
                if ids and not self.drain:
                    self.stop.wait(self.pace.uniform(0, 0.4))  # printing: kills land here too
                if ids:
                    r = stub.Ack(pb.AckRequest(enrollment_ids=ids), timeout=10)
                    if r.acknowledged != len(ids):
                        fail(f"round {self.rnd}: Ack of {len(ids)} leased acknowledged "
                             f"{r.acknowledged}")
                    ledger.note_printed(ids, self.rnd)
                    self.acked += len(ids)
                    idle_since = time.monotonic()
                elif self.drain and time.monotonic() - idle_since > 3:
                    return  # three print_lease periods and nothing came back
                else:
                    self.stop.wait(0.1)
        except grpc.RpcError as e:
            if not self.dying.is_set():
                fail(f"round {self.rnd}: the print station's call failed before the kill: "
                     f"{e.code()} {e.details()!r}")
        finally:
            self.chan.close()


def upload_round(rnd, port):
    nstreams = rng.randint(2, 4)
    stop = threading.Event()
    firsts = [[] for _ in range(nstreams)]
    # resends of what earlier rounds sent and never got an answer for
    pending = [i for i in ledger.unacked if i not in ledger.acked]
    rng.shuffle(pending)
    for k, eid in enumerate(pending[:4 * nstreams]):
        firsts[k % nstreams].append(regenerate(eid))
    # twins: one new id on two streams at once
    for _ in range(2):
        e = fresh(rnd)
        a, b = rng.sample(range(nstreams), 2)
        firsts[a].insert(0, e)
        firsts[b].insert(0, e)
    streams = [Stream(rnd, i, port, firsts[i], stop) for i in range(nstreams)]
    for s in streams:
        s.start()
    dying = threading.Event()
    station = Station(rnd, port, stop, dying) if PRINT else None
    if station:
        station.start()
    delay = rng.uniform(0.2, 1.5)
    time.sleep(delay)
    dying.set()  # what fails from here on is the kill's doing
    server.kill9()
    stop.set()
    if station:
        station.join(15)
    for s in streams:
        s.join(10)
        if s.is_alive():
            if s.call is not None:
                s.call.cancel()
            s.join(5)
            if s.is_alive():
                die(f"round {rnd} stream {s.idx}: the client did not end 15 s after sidikd died")
    got = [d for s in streams for d in s.got]
    answered = {d["id"] for d in got}
    sent_now = {i for s in streams for i in s.order}  # sent, never answered
    ledger.unacked = sorted(i for i in sent_now | set(ledger.unacked)
                            if i not in ledger.acked and i not in answered)
    return {"streams": nstreams, "delay": delay, "receipts": len(got),
            "acked": sorted({d["id"] for d in got if d["code"] == 0}),
            "ends": [str(s.ended) for s in streams]}


# ---- the checks after a restart -----------------------------------------------------

def check_log(rnd, expect_replayed=None):
    text = server.text()
    jo = re.search(r'msg="journal open".*?next_seq=(\d+)', text)
    so = re.search(r'msg="stores open".*?replayed=(\d+)', text)
    if not jo:
        fail(f"round {rnd}: the restart's log has no 'journal open' line")
    if not so:
        fail(f"round {rnd}: the restart's log has no 'stores open ... replayed=' line")
    if not jo or not so:
        return None
    next_seq, replayed = int(jo.group(1)), int(so.group(1))
    top = max((d["seq"] for d in ledger.acked.values()), default=0)
    if next_seq <= top:
        fail(f"round {rnd}: journal next_seq={next_seq} but sequence {top} was acknowledged")
    if expect_replayed is not None and replayed != expect_replayed:
        fail(f"round {rnd}: replayed={replayed}, expected {expect_replayed}")
    return next_seq, replayed


def get_all(status, ids, rnd):
    futs = []
    for eid in ids:
        futs.append((eid, status.Get.future(pb.GetStatusRequest(enrollment_id=eid), timeout=20)))
        if len(futs) >= 64:
            yield from drain(futs, rnd)
            futs = []
    yield from drain(futs, rnd)


def drain(futs, rnd):
    for eid, f in futs:
        try:
            yield eid, f.result()
        except grpc.RpcError as e:
            yield eid, e


def list_all(status, rnd):
    held, token, pages = collections.Counter(), "", 0
    states = {}
    while True:
        size = rng.randint(200, 1000)
        page = status.List(pb.ListStatusRequest(page_size=size, page_token=token), timeout=20)
        pages += 1
        for e in page.enrollments:
            held[e.enrollment_id] += 1
            states[e.enrollment_id] = e
        token = page.next_page_token
        if not token:
            break
        if pages > 100000:
            die(f"round {rnd}: Status.List never ends (a page token loop)")
    return held, states


def check_receipts(rnd):
    """Across every receipt of every round: one journal_seq and one
    received time per id, at most one first (not resend) acceptance per
    id, and no journal_seq shared by two ids."""
    by_id = collections.defaultdict(list)
    by_seq = {}
    for d in ledger.receipts:
        if d["code"] != 0:
            continue
        by_id[d["id"]].append(d)
        other = by_seq.setdefault(d["seq"], d["id"])
        if other != d["id"]:
            fail(f"round {rnd}: journal_seq {d['seq']} was given to {other} and to {d['id']} "
                 f"(round {d['round']})")
    for eid, ds in by_id.items():
        seqs = {(d["seq"], d["received"]) for d in ds}
        if len(seqs) > 1:
            fail(f"round {rnd}: {eid} was stored twice: receipts "
                 + ", ".join(f"round {d['round']} seq {d['seq']} received {d['received']} "
                             f"resend={d['resend']}" for d in ds))
        firsts = [d for d in ds if not d["resend"]]
        if len(firsts) > 1:
            fail(f"round {rnd}: {eid} was accepted (resend=False) {len(firsts)} times: "
                 + ", ".join(f"round {d['round']} seq {d['seq']}" for d in firsts))


def check_decided_once(rnd, eid, st, receipt=None):
    """st (a Status answer) is RECEIVED, or RECEIVED then one decision that
    is its status, or RECEIVED, PRINT_READY, PRINTED; the decision is the
    one any earlier round saw; a print the station's Ack was answered for
    is never lost."""
    hist = [(h.status, h.time_ms) for h in st.history]
    n = len(hist)
    ok = bool(hist) and hist[0][0] == RECEIVED and \
        (receipt is None or hist[0][1] == receipt["received"]) and \
        (n == 1 and st.status == RECEIVED or
         n == 2 and hist[1][0] in DECIDED and st.status == hist[1][0] or
         n == 3 and hist[1][0] == pb.PRINT_READY and hist[2][0] == PRINTED and
         st.status == PRINTED)
    if ok and eid in ledger.printed and st.status != PRINTED:
        fail(f"round {rnd}: {eid}'s print, acknowledged in round {ledger.printed[eid]}, is lost: "
             f"status {st.status}")
    if not ok:
        fail(f"round {rnd}: {eid}: status {st.status}, history {hist}"
             + (f", receipt received {receipt['received']}" if receipt else ""))
        return
    if n >= 2:
        seen = ledger.decided.setdefault(eid, (hist[1], rnd))
        if seen[0] != hist[1]:
            fail(f"round {rnd}: {eid} decided twice: {seen[0]} seen in round {seen[1]}, now "
                 f"{hist[1]}")


def verify(rnd, port, held_before, acked_now, replay_bound=True, expect_replayed=None):
    office = office_channel(port)
    status = rpc.StatusStub(office)
    # Status.Get: every enrollment acknowledged in the round just killed
    for eid, st in get_all(status, acked_now, rnd):
        if isinstance(st, grpc.RpcError):
            fail(f"round {rnd}: acknowledged {eid} (seq {ledger.acked[eid]['seq']}) is gone after "
                 f"the restart: Status.Get says {st.code()} {st.details()!r}")
        else:
            check_decided_once(rnd, eid, st, ledger.acked[eid])
    # Status.List: everything, once
    held, states = list_all(status, rnd)
    for eid, n in held.items():
        if n > 1:
            fail(f"round {rnd}: Status.List returned {eid} {n} times")
        if eid not in ledger.sent:
            fail(f"round {rnd}: Status.List returned {eid}, which was never sent")
        else:
            check_decided_once(rnd, eid, states[eid])
    for eid, d in ledger.acked.items():
        if eid not in held:
            fail(f"round {rnd}: {eid} (acknowledged in round {d['round']}, seq {d['seq']}) "
                 f"is missing from Status.List")
        elif not states[eid].history or states[eid].history[0].time_ms != d["received"]:
            fail(f"round {rnd}: {eid} (round {d['round']}) listed with history "
                 f"{[(h.status, h.time_ms) for h in states[eid].history]}, receipt received "
                 f"{d['received']}")
    gone = set(held_before) - set(held)
    if gone:
        fail(f"round {rnd}: {len(gone)} id(s) held before the crash are gone, e.g. {sorted(gone)[:3]}")
    logged = check_log(rnd, expect_replayed)
    if logged and replay_bound:
        # what the replay recorded was held by neither the control store nor
        # a receipt before the crash
        new_unacked = [i for i in held if i not in held_before and i not in acked_now]
        if logged[1] > len(new_unacked):
            fail(f"round {rnd}: replayed={logged[1]} but only {len(new_unacked)} ids are newly "
                 f"held without a receipt (a replay re-recorded acknowledged entries?)")
    check_receipts(rnd)
    # a resend of one acknowledged enrollment: the exact bytes, its receipt again
    pool = acked_now or sorted(ledger.acked)
    if pool:
        eid = rng.choice(pool)
        orig = ledger.acked[eid]
        try:
            again = list(rpc.IngestStub(office).Upload(iter([regenerate(eid)]), timeout=20))
        except grpc.RpcError as e:
            again = []
            fail(f"round {rnd}: resending {eid}: {e.code()} {e.details()!r}")
        for r in again:
            ledger.note_receipt(r, rnd, "resend")
        if again and not (len(again) == 1 and again[0].code == 0 and again[0].resend and
                          again[0].journal_seq == orig["seq"] and
                          again[0].received_time_ms == orig["received"]):
            r = again[0]
            fail(f"round {rnd}: resend of {eid} (seq {orig['seq']}, round {orig['round']}) got "
                 f"{len(again)} receipt(s): code {r.code} resend={r.resend} seq {r.journal_seq} "
                 f"received {r.received_time_ms} ({r.reason!r})")
    office.close()
    return set(held), logged[1] if logged else None


def wait_all_decided(rnd, port, held, timeout):
    """Every enrollment held gets its one decision (the stage catches up),
    and each person (serial modulo the records) is PRINT_READY exactly
    once: every other enrollment of theirs is a duplicate of that one."""
    office = office_channel(port)
    status = rpc.StatusStub(office)
    deadline = time.monotonic() + timeout
    fewest = None
    while True:
        now, states = list_all(status, rnd)
        waiting = [i for i in held
                   if states.get(i) is None or states[i].status not in DECIDED + (PRINTED,)]
        if fewest is None or len(waiting) < fewest:
            fewest = len(waiting)  # progress: the stage has another timeout to go on
            deadline = time.monotonic() + timeout
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for eid in held:
        if eid in states:
            check_decided_once(rnd, eid, states[eid])
    if waiting:
        fail(f"round {rnd}: {len(waiting)} enrollment(s) not decided, none decided in the last "
             f"{timeout} s, e.g. {sorted(waiting)[:3]}")
    counts = collections.Counter(states[i].status for i in held if i in states)
    unique = collections.Counter()
    persons = set()
    for eid in held:
        person = ledger.sent[eid][0] % len(recs)
        persons.add(person)
        if eid in states and states[eid].status in (pb.PRINT_READY, PRINTED):
            unique[person] += 1
    for person in sorted(persons):
        if not waiting and unique[person] != 1:
            fail(f"round {rnd}: person {person} is PRINT_READY {unique[person]} times, not once")
    if PRINT and not waiting:
        station = Station(rnd, port, threading.Event(), threading.Event(), drain=True)
        station.run()  # here: leases left by the kills run out and come back
        _, states = list_all(status, rnd)
        left = [i for i in held if states[i].status == pb.PRINT_READY]
        printed = [i for i in held if states[i].status == PRINTED]
        for eid in printed:
            check_decided_once(rnd, eid, states[eid])
        if left or len(printed) != len(persons):
            fail(f"round {rnd}: after draining the print queue {len(printed)} printed for "
                 f"{len(persons)} persons, {len(left)} still PRINT_READY, e.g. {left[:3]}")
        print(f"printed: {len(printed)} cards for {len(persons)} persons, each once; "
              f"{ledger.leased_again} leases came back after a kill; {station.acked} printed "
              f"in the final drain", flush=True)
    print(f"all decided: {counts[pb.PRINT_READY]} PRINT_READY, {counts[PRINTED]} PRINTED, "
          f"{counts[pb.DUPLICATE]} DUPLICATE, "
          f"{counts[pb.ADJUDICATE]} ADJUDICATE; {len(ledger.decided)} decisions seen, none "
          f"changed", flush=True)
    office.close()


# ---- the rounds ----------------------------------------------------------------------

def main():
    print(f"seed {seed}, {rounds} rounds", flush=True)
    t0 = time.monotonic()
    port = server.start()
    check_log(0, 0)
    held = set()
    totals = collections.Counter()
    for rnd in range(1, rounds + 1):
        info = upload_round(rnd, port)
        port = server.start()
        held_after, replayed = verify(rnd, port, held, info["acked"])
        print(f"round {rnd}: {info['streams']} streams killed after {info['delay']:.2f}s with "
              f"{info['receipts']} receipts ({len(info['acked'])} ids acknowledged); "
              f"restart replayed {replayed}; held {len(held_after)} (+{len(held_after - held)})",
              flush=True)
        totals["receipts"] += info["receipts"]
        held = held_after
        if failures:
            break
    if not failures:
        rc = server.term()
        if rc != 0:
            fail(f"SIGTERM: sidikd exited with {rc} (None: not within 15 s)")
        elif 'msg="stopped"' not in server.text():
            fail("SIGTERM: the log does not say it stopped")
        port = server.start()
        verify(rounds + 1, port, held, [], replay_bound=False, expect_replayed=0)
        if DECIDE_WAIT > 0:
            wait_all_decided(rounds + 1, port, held, DECIDE_WAIT)
        rc = server.term()
        if rc != 0:
            fail(f"final SIGTERM: sidikd exited with {rc}")
    print(f"{rounds} kill/restart rounds, {len(ledger.sent)} ids sent, {totals['receipts']} "
          f"receipts, {len(ledger.acked)} acknowledged, {len(held)} held, "
          f"{time.monotonic() - t0:.1f}s", flush=True)
    finish()


main()
