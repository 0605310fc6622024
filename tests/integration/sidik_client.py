"""What the Python integration tests share: stubs generated from
proto/sidik.proto at run time, mutual-TLS channels, and valid Enrollments
built from `sidik gen` records.

Used with /usr/bin/python3 (Debian's python3-grpcio, python3-grpc-tools,
python3-protobuf).
"""
import hashlib
import os
import sys
import tempfile
import time
import uuid

import grpc
from grpc_tools import protoc


def load_stubs(proto_dir):
    """(sidik_pb2, sidik_pb2_grpc), generated into a temporary folder."""
    out = tempfile.mkdtemp(prefix="sidik-stubs-")
    if protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out}",
                    f"--grpc_python_out={out}", os.path.join(proto_dir, "sidik.proto")]) != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out)
    import sidik_pb2
    import sidik_pb2_grpc
    return sidik_pb2, sidik_pb2_grpc


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(pki, port, client=None, ca_dir=None, options=None):
    """A channel to sidikd; client names a certificate in ca_dir (default pki)
    such as "office-JKT-01", or None for no client certificate; options:
    grpc channel arguments, e.g. [("grpc.use_local_subchannel_pool", 1)]
    for a connection of its own."""
    ca = read(os.path.join(pki, "ca.crt"))
    if client is None:
        creds = grpc.ssl_channel_credentials(root_certificates=ca)
    else:
        d = ca_dir or pki
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca,
            private_key=read(os.path.join(d, client + ".key")),
            certificate_chain=read(os.path.join(d, client + ".crt")))
    return grpc.secure_channel(f"localhost:{port}", creds, options=options)


def records(path):
    """The ISO/IEC 19794-2 records of a `sidik gen` records.iso, each one
    self-delimiting (big-endian length at offset 8)."""
    data = read(path)
    out, off = [], 0
    while off < len(data):
        n = int.from_bytes(data[off + 8:off + 12], "big")
        out.append(data[off:off + n])
        off += n
    return out


def positions(record):
    """The finger positions an ISO/IEC 19794-2:2005 record has views of:
    after the 24-byte header, each view is position, view/impression,
    quality, minutiae count, 6 bytes a minutia, then its extended data."""
    out, off = set(), 24
    for _ in range(record[22]):
        out.add(record[off])
        off += 4 + 6 * record[off + 3]
        off += 2 + int.from_bytes(record[off:off + 2], "big")
    return out


def nik_for(serial, female=False):
    """A structurally valid NIK: Jakarta Selatan, born 1990-05-25."""
    return f"317101{25 + (40 if female else 0):02d}0590{serial:04d}"


def enrollment(pb, record, serial, office="JKT-01", station="ST-01", enrollment_id=None):
    """A valid Enrollment: every finger position carries the multi-view
    record (each holds a view of every position), and a face."""
    face = b"\xff\xd8\xff\xe0" + serial.to_bytes(4, "big") * 64
    return pb.Enrollment(
        enrollment_id=enrollment_id or str(uuid.uuid4()),
        office_code=office,
        capture_time_ms=int(time.time() * 1000) - 60000,
        station_id=station,
        demographics=pb.Demographics(nik=nik_for(serial), full_name=f"Budi Santoso {serial}",
                                     birth_place="Jakarta", birth_date="1990-05-25",
                                     sex=pb.MALE, address="Jl. Merdeka 1",
                                     region_code="317101"),
        fingers=[pb.FingerRecord(position=p, format=pb.ISO_19794_2_2005, template=record, nfiq=2)
                 for p in range(1, 11)],
        attachments=[pb.Attachment(kind=pb.FACE, media_type="image/jpeg",
                                   sha256=hashlib.sha256(face).digest(), data=face)])


def decided_statuses(pb):
    """What the dedup stage turns a RECEIVED enrollment into."""
    return (pb.PRINT_READY, pb.DUPLICATE, pb.ADJUDICATE)


def wait_decided(pb, status_stub, ids, timeout=60):
    """{id: its Status.Get answer} once every id is decided, polling; the
    answers as they stand when timeout (seconds) runs out otherwise."""
    deadline = time.monotonic() + timeout
    got = {}
    while True:
        for i in ids:
            if i not in got or got[i].status not in decided_statuses(pb):
                got[i] = status_stub.Get(pb.GetStatusRequest(enrollment_id=i), timeout=10)
        if all(g.status in decided_statuses(pb) for g in got.values()) or \
                time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def code_of(fn):
    """(status code, details) of calling fn(); OK when it returns."""
    try:
        fn()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details() or ""
