"""A print station against a live sidikd, after grpc_interop.py made three
enrollments of region 317101 PRINT_READY:

    print_station.py PROTO_DIR PKI_DIR PORT SIDIK PUBLIC_KEY STATE

Print.Lease as the printer of 31.71 returns the three, in the order they
were decided; `sidik print verify` accepts each with the server's public
key and refuses a copy whose NIK was changed, whose signature was changed,
or checked with another key; a second Lease finds nothing; an office may
not lease, nor a printer another region; Print.Ack makes the three PRINTED
(the office sees it in its history) and a retried Ack acknowledges
nothing more. STATE (grpc_interop.py's) is updated to PRINTED for the
checks after the restart.
"""
import json
import os
import subprocess
import sys
import tempfile

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, load_stubs  # noqa: E402

proto_dir, pki, port, sidik, public_key, state_path = sys.argv[1:7]
pb, rpc = load_stubs(proto_dir)
failures = []


def check(desc, cond):
    print(("ok: " if cond else "FAIL: ") + desc, flush=True)
    if not cond:
        failures.append(desc)


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


with open(state_path) as f:
    state = json.load(f)
ids = [r["id"] for r in state["receipts"]]
printer = rpc.PrintStub(channel(pki, port, "printer"))
office = channel(pki, port, "office-JKT-01")

lease = printer.Lease(pb.LeaseRequest(max=10), timeout=10)
check(f"Print.Lease gives region 31.71's three authorisations in decision order "
      f"(got {len(lease.authorisations)})",
      [a.enrollment_id for a in lease.authorisations] == ids)
check("each names its region and carries a 64-byte signature",
      all(a.region_code == "31.71" and len(a.signature) == 64 and len(a.nik) == 16
          for a in lease.authorisations) and lease.lease_expires_ms > 0)

work = tempfile.mkdtemp()


def verify(*paths):
    r = subprocess.run([sidik, "print", "verify", "--key", public_key, *paths],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


paths = []
for a in lease.authorisations:
    p = os.path.join(work, a.enrollment_id + ".pb")
    with open(p, "wb") as f:
        f.write(a.SerializeToString())
    paths.append(p)
rc, out = verify(*paths)
check(f"sidik print verify: all three valid with the server's public key (exit {rc})",
      rc == 0 and out.count(": valid: enrollment ") == 3)

forged = pb.PrintAuthorisation()
forged.CopyFrom(lease.authorisations[0])
forged.nik = "3171019999999999"
forged.payload = forged.payload.replace(lease.authorisations[0].nik.encode(), b"3171019999999999")
flipped = pb.PrintAuthorisation()
flipped.CopyFrom(lease.authorisations[1])
flipped.signature = bytes([flipped.signature[0] ^ 1]) + flipped.signature[1:]
for name, msg in (("forged.pb", forged), ("flipped.pb", flipped)):
    with open(os.path.join(work, name), "wb") as f:
        f.write(msg.SerializeToString())
rc, out = verify(os.path.join(work, "forged.pb"), paths[2])
check(f"a changed NIK is INVALID and the run exits 1 (exit {rc})",
      rc == 1 and "forged.pb: INVALID: the signature does not verify" in out and ": valid:" in out)
rc, out = verify(os.path.join(work, "flipped.pb"))
check(f"a changed signature is INVALID (exit {rc})", rc == 1 and "INVALID" in out)
other = os.path.join(work, "other.key")
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", other], check=True)
r = subprocess.run([sidik, "print", "verify", "--key", other, paths[0]], capture_output=True, text=True)
check(f"another key does not verify it (exit {r.returncode})",
      r.returncode == 1 and "does not verify with this key" in r.stdout)
r = subprocess.run([sidik, "print", "verify", "--key", paths[0], paths[0]], capture_output=True, text=True)
check(f"a file that is not a key is a usage error (exit {r.returncode})", r.returncode == 2)

again = printer.Lease(pb.LeaseRequest(), timeout=10)
check("a second Lease finds nothing: all three are leased", len(again.authorisations) == 0)
code = code_of(lambda: printer.Lease(pb.LeaseRequest(region_code="32.04"), timeout=10))
check(f"a printer leasing another region is PERMISSION_DENIED (got {code})",
      code == grpc.StatusCode.PERMISSION_DENIED)
code = code_of(lambda: rpc.PrintStub(office).Lease(pb.LeaseRequest(), timeout=10))
check(f"an office leasing is PERMISSION_DENIED (got {code})", code == grpc.StatusCode.PERMISSION_DENIED)
code = code_of(lambda: printer.Ack(pb.AckRequest(enrollment_ids=["never-leased"]), timeout=10))
check(f"acknowledging what was not leased is FAILED_PRECONDITION (got {code})",
      code == grpc.StatusCode.FAILED_PRECONDITION)

acked = printer.Ack(pb.AckRequest(enrollment_ids=ids), timeout=10)
check(f"Print.Ack acknowledges the three (got {acked.acknowledged})", acked.acknowledged == 3)
status = rpc.StatusStub(office)
st = [status.Get(pb.GetStatusRequest(enrollment_id=i), timeout=10) for i in ids]
check("the office sees them PRINTED, after RECEIVED and PRINT_READY",
      all(s.status == pb.PRINTED and [h.status for h in s.history] ==
          [pb.RECEIVED, pb.PRINT_READY, pb.PRINTED] for s in st))
check("a retried Ack acknowledges nothing more",
      printer.Ack(pb.AckRequest(enrollment_ids=ids), timeout=10).acknowledged == 0)

for r in state["receipts"]:
    r["status"] = pb.PRINTED
with open(state_path, "w") as f:
    json.dump(state, f)
sys.exit(1 if failures else 0)
