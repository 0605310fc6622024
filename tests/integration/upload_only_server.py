#!/usr/bin/python3
"""An Ingest server without UploadChunks, as a sidikd older than it is, for
the uploader's fallback test: a stock grpcio server over mutual TLS that
serves Ingest.Upload only (grpcio answers UNIMPLEMENTED for the rest).

  upload_only_server.py PKI_DIR LIFETIME_SECONDS

Each Enrollment is taken as the bytes that arrived (no parse, no checks, no
journal) and answered at once with a Receipt whose content_sha256 is the
SHA-256 of those bytes, so the uploader's own check (the receipt's hash is
the spool's) shows whether they arrived intact. The Receipt is encoded by
hand (fields 1 to 5), so no stubs are generated.

Output: "port N" on stdout once serving; one "enrollment id=... bytes=N"
line per enrollment on stderr.
"""
import hashlib
import os
import sys
import time
from concurrent import futures

import grpc


def read(path):
    with open(path, "rb") as f:
        return f.read()


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def enrollment_id(msg):
    """Field 1 (enrollment_id) of a packed Enrollment, "" when absent."""
    off = 0
    while off < len(msg):
        key, shift = 0, 0
        while True:
            b = msg[off]
            off += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        wire = key & 7
        if wire == 0:
            while msg[off] & 0x80:
                off += 1
            off += 1
            continue
        if wire != 2:
            return ""
        n, shift = 0, 0
        while True:
            b = msg[off]
            off += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if key >> 3 == 1:
            return msg[off:off + n].decode(errors="replace")
        off += n
    return ""


def main():
    pki, lifetime = sys.argv[1], float(sys.argv[2])
    seq = [0]

    def upload(requests, ctx):
        for raw in requests:
            seq[0] += 1
            eid = enrollment_id(raw)
            print(f"enrollment id={eid} bytes={len(raw)}", file=sys.stderr, flush=True)
            yield (field_bytes(1, eid.encode()) + field_bytes(2, hashlib.sha256(raw).digest()) +
                   varint(3 << 3) + varint(seq[0]) + varint(4 << 3) +
                   varint(int(time.time() * 1000)) + varint(5 << 3) + varint(3))

    handler = grpc.method_handlers_generic_handler("sidik.v1.Ingest", {
        "Upload": grpc.stream_stream_rpc_method_handler(
            upload, request_deserializer=None, response_serializer=None)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    creds = grpc.ssl_server_credentials(
        [(read(os.path.join(pki, "server.key")), read(os.path.join(pki, "server.crt")))],
        root_certificates=read(os.path.join(pki, "ca.crt")), require_client_auth=True)
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    print(f"port {port}", flush=True)
    server.wait_for_termination(timeout=lifetime)
    server.stop(0)


if __name__ == "__main__":
    main()
