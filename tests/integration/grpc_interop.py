"""Interop: a stock Python grpcio client against a live sidikd over mutual TLS.

Run by test_grpc_interop.sh with /usr/bin/python3 (Debian's python3-grpcio,
python3-grpc-tools, python3-protobuf). Stubs are generated from
proto/sidik.proto at test time. Exits non-zero on the first failed check.

    grpc_interop.py PROTO_DIR PKI_DIR FOREIGN_PKI_DIR PORT
"""
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

proto_dir, pki, foreign, port = sys.argv[1:5]
out = tempfile.mkdtemp(prefix="sidik-stubs-")
if protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
                os.path.join(proto_dir, "sidik.proto")]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, out)
import sidik_pb2 as pb  # noqa: E402
import sidik_pb2_grpc as rpc  # noqa: E402

failures = 0


def check(desc, cond):
    global failures
    print(("ok: " if cond else "FAIL: ") + desc)
    failures += 0 if cond else 1


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(client=None, ca_dir=None):
    ca = read(os.path.join(pki, "ca.crt"))
    if client is None:
        creds = grpc.ssl_channel_credentials(root_certificates=ca)
    else:
        d = ca_dir or pki
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca,
            private_key=read(os.path.join(d, client + ".key")),
            certificate_chain=read(os.path.join(d, client + ".crt")))
    return grpc.secure_channel(f"localhost:{port}", creds)


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details() or ""


office = channel("office-JKT-01")
code, details = code_of(lambda: rpc.StatusStub(office).Get(
    pb.GetStatusRequest(enrollment_id="0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d7c10"), timeout=10))
check(f"office Status.Get over mTLS reaches the service (got {code}: {details})",
      code == grpc.StatusCode.UNIMPLEMENTED and "does not serve this method yet" in details)

code, details = code_of(lambda: rpc.AdminStub(office).Stats(pb.StatsRequest(), timeout=10))
check(f"office calling Admin.Stats is PERMISSION_DENIED (got {code})",
      code == grpc.StatusCode.PERMISSION_DENIED)

admin = channel("admin")
code, _ = code_of(lambda: rpc.AdminStub(admin).Stats(pb.StatsRequest(), timeout=10))
check(f"admin calling Admin.Stats passes the role check (got {code})",
      code == grpc.StatusCode.UNIMPLEMENTED)


def uploads():
    for i in range(3):
        yield pb.Enrollment(enrollment_id=f"0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d7c1{i}",
                            office_code="JKT-01")


code, _ = code_of(lambda: list(rpc.IngestStub(office).Upload(uploads(), timeout=10)))
check(f"bidirectional Upload stream answered with trailers (got {code})",
      code == grpc.StatusCode.UNIMPLEMENTED)

big = pb.GetStatusRequest(enrollment_id="x" * (5 << 20))
code, _ = code_of(lambda: rpc.StatusStub(office).Get(big, timeout=20))
check(f"a 5 MiB message is RESOURCE_EXHAUSTED (got {code})",
      code == grpc.StatusCode.RESOURCE_EXHAUSTED)

code, _ = code_of(lambda: rpc.StatusStub(channel(None)).Get(pb.GetStatusRequest(), timeout=10))
check(f"no client certificate: the handshake fails (got {code})",
      code == grpc.StatusCode.UNAVAILABLE)

code, _ = code_of(lambda: rpc.StatusStub(channel("office-JKT-01", foreign)).Get(
    pb.GetStatusRequest(), timeout=10))
check(f"another CA's certificate: the handshake fails (got {code})",
      code == grpc.StatusCode.UNAVAILABLE)

code, _ = code_of(lambda: rpc.StatusStub(channel("office-SBY-03")).Get(
    pb.GetStatusRequest(), timeout=10))
check(f"an expired certificate: the handshake fails (got {code})",
      code == grpc.StatusCode.UNAVAILABLE)

# The office connection still works after all that.
code, _ = code_of(lambda: rpc.StatusStub(office).Get(pb.GetStatusRequest(), timeout=10))
check(f"other clients' failures did not harm this connection (got {code})",
      code == grpc.StatusCode.UNIMPLEMENTED)
sys.exit(1 if failures else 0)
