"""HTTP/2 abuse against a live sidikd, each on a mutual-TLS connection of its
own built frame by frame (no HTTP/2 library, so nothing smooths the abuse
over), while a stock grpcio client of another office keeps calling: every
abuser is cut with the error RFC 9113 and nghttp2 give it, and the other
office never sees a failure.

    h2_floods.py PROTO_DIR PKI PORT MAX_STREAMS SIDIKD_LOG

  ping flood      PINGs sent without ever reading their ACKs
  settings flood  SETTINGS frames the same way
  rapid reset     HEADERS then RST_STREAM, over and over (CVE-2023-44487),
                  reading everything the server answers
  too many        one stream more than SETTINGS_MAX_CONCURRENT_STREAMS,
                  after acknowledging the server's SETTINGS
  a grpcio channel with three times MAX_STREAMS calls at once is queued by
  the client and all of them are answered

Run by test_h2_floods.sh with /usr/bin/python3; ok/FAIL per check, exits 1
on any FAIL.
"""
import os
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidik_client import channel, load_stubs  # noqa: E402

proto_dir, pki, port, max_streams, log_path = sys.argv[1:6]
port, max_streams = int(port), int(max_streams)
pb, rpc = load_stubs(proto_dir)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x1, 0x3, 0x4, 0x6, 0x7
ACK, END_STREAM, END_HEADERS = 0x1, 0x1, 0x4
PROTOCOL_ERROR, CANCEL, ENHANCE_YOUR_CALM = 0x1, 0x8, 0xb
ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL",
          0xb: "ENHANCE_YOUR_CALM"}

failed = False


def check(what, ok):
    global failed
    failed |= not ok
    print(("ok" if ok else "FAIL") + ": " + what, flush=True)


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def literal(index, value):
    """HPACK literal header field without indexing, name from the static
    table (RFC 7541 6.2.2), a value under 127 bytes, no Huffman coding."""
    v = value.encode()
    head = bytes([index]) if index < 15 else bytes([15, index - 15])
    return head + bytes([len(v)]) + v


def request_headers(path):
    # :method POST (static 3), :scheme https (7), :authority (1), :path (4),
    # content-type (31), then te: trailers as a new name.
    return (b"\x83\x87" + literal(1, "localhost") + literal(4, path) +
            literal(31, "application/grpc") + b"\x00\x02te\x08trailers")


def connect(client="office-BDG-02"):
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
    ctx.load_cert_chain(f"{pki}/{client}.crt", f"{pki}/{client}.key")
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                        server_hostname="localhost")
    s.settimeout(15)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return s


class Reader:
    """The server's frames on s, read on the caller's thread (an SSL socket
    is not to be read and written from two threads at once)."""

    def __init__(self, s):
        self.s, self.frames, self.closed = s, [], False
        self.buf = bytearray()

    def _parse(self):
        off = 0
        while len(self.buf) - off >= 9:
            n = int.from_bytes(self.buf[off:off + 3], "big")
            if len(self.buf) - off < 9 + n:
                break
            b = self.buf
            self.frames.append((b[off + 3], b[off + 4],
                                int.from_bytes(b[off + 5:off + 9], "big") & 0x7fffffff,
                                bytes(b[off + 9:off + 9 + n])))
            off += 9 + n
        del self.buf[:off]

    def _recv(self):
        try:
            chunk = self.s.recv(65536)
        except (OSError, ssl.SSLError):
            chunk = b""
        if not chunk:
            self.closed = True
        self.buf += chunk
        self._parse()

    def poll(self):
        """Reads what has arrived, without waiting."""
        while not self.closed and (self.s.pending() or select.select([self.s], [], [], 0)[0]):
            self._recv()

    def until(self, pred, timeout):
        """Reads until pred() holds or the server closes; whether pred() holds."""
        deadline = time.monotonic() + timeout
        while not pred() and not self.closed and time.monotonic() < deadline:
            if self.s.pending() or select.select([self.s], [], [], 0.05)[0]:
                self._recv()
        return pred()

    def until_closed(self, timeout=15):
        return self.until(lambda: self.closed, timeout)

    def goaway(self):
        """The error code of the server's GOAWAY, or None."""
        for t, _, _, p in self.frames:
            if t == GOAWAY and len(p) >= 8:
                return int.from_bytes(p[4:8], "big")
        return None


def send_until_cut(s, frames, limit):
    """Sends frames in batches until the server closes the connection or
    `limit` have gone; the number sent."""
    batch = frames * 256
    sent = 0
    try:
        while sent < limit:
            s.sendall(batch)
            sent += 256
    except (OSError, ssl.SSLError):
        pass
    return sent


def name(code):
    return ERRORS.get(code, str(code))


logged = 0  # "connection cut" lines already accounted for


def cut_reason(timeout=10):
    """The why= of sidikd's next "connection cut" log line, or None."""
    global logged
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path) as f:
            cuts = [line for line in f if 'msg="connection cut"' in line]
        if len(cuts) > logged:
            logged += 1
            m = re.search(r'why="([^"]*)"', cuts[logged - 1])
            return m.group(1) if m else ""
        time.sleep(0.05)
    return None


# ---- a bystander: another office calling all along ----------------------------------
stop = threading.Event()
bystander = {"calls": 0, "failures": []}


def bystand():
    stub = rpc.StatusStub(channel(pki, port, "office-JKT-01"))
    while not stop.is_set():
        try:
            stub.List(pb.ListStatusRequest(), timeout=5)
            bystander["calls"] += 1
        except grpc.RpcError as e:
            bystander["failures"].append(f"{e.code()} {e.details()}")
        time.sleep(0.02)


watcher = threading.Thread(target=bystand)
watcher.start()


FLOOD = "ping or settings flood (acknowledgements not read)"


def flood(what, frames, limit):
    """frames over and over, the server's answers never read."""
    s = connect()
    t0 = time.monotonic()
    sent = send_until_cut(s, frames, limit)
    closed = Reader(s).until_closed()
    why = cut_reason()
    check(f"{what}: cut after {sent} of up to {limit} frames ({time.monotonic() - t0:.1f} s), "
          f"logged why=\"{why}\"", closed and sent < limit and why == FLOOD)
    s.close()


flood("ping flood", frame(PING, 0, 0, b"12345678"), 1_000_000)
flood("settings flood", frame(SETTINGS, 0, 0), 1_000_000)
hdrs = request_headers("/sidik.v1.Status/Get")


def rapid_reset():
    """HEADERS + RST_STREAM on ever new stream ids, answers read along."""
    s = connect()
    r = Reader(s)
    sid, sent = 1, 0
    t0 = time.monotonic()
    try:
        while sent < 200_000 and r.goaway() is None:  # a client stops at GOAWAY
            batch = b"".join(frame(HEADERS, END_HEADERS, sid + 2 * i, hdrs) +
                             frame(RST_STREAM, 0, sid + 2 * i, struct.pack(">I", CANCEL))
                             for i in range(64))
            s.sendall(batch)
            sid += 128
            sent += 64
            r.poll()
    except (OSError, ssl.SSLError):
        pass
    closed = r.until_closed()
    code = r.goaway()
    why = cut_reason()
    check(f"rapid reset: cut with GOAWAY {name(code) if code is not None else 'none'} after "
          f"{sent} of up to 200000 streams ({time.monotonic() - t0:.1f} s), logged why=\"{why}\"",
          closed and code == ENHANCE_YOUR_CALM and sent < 200_000 and why == "stream reset flood")
    s.close()


rapid_reset()


def too_many_streams():
    """Waits for the server's SETTINGS, acknowledges them, then opens
    MAX_STREAMS + 1 streams that never end."""
    s = connect()
    r = Reader(s)
    r.until(lambda: any(t == SETTINGS and not f & ACK for t, f, _, _ in r.frames), 10)
    advertised = None
    for t, f, _, p in r.frames:
        if t == SETTINGS and not f & ACK:
            for i in range(0, len(p) - 5, 6):
                if int.from_bytes(p[i:i + 2], "big") == 0x3:
                    advertised = int.from_bytes(p[i + 2:i + 6], "big")
    s.sendall(frame(SETTINGS, ACK, 0))
    # The ACK of our SETTINGS and of theirs must both be through before the
    # limit binds: wait for the server's ACK, then a moment for ours.
    r.until(lambda: any(t == SETTINGS and f & ACK for t, f, _, _ in r.frames), 10)
    time.sleep(0.2)
    s.sendall(b"".join(frame(HEADERS, END_HEADERS, 1 + 2 * i, hdrs) for i in range(max_streams + 1)))
    closed = r.until_closed()
    code = r.goaway()
    check(f"SETTINGS_MAX_CONCURRENT_STREAMS is {advertised}", advertised == max_streams)
    check(f"too many streams: stream {max_streams + 1} cut the connection with GOAWAY "
          f"{name(code) if code is not None else 'none'}",
          closed and code == PROTOCOL_ERROR)
    s.close()


too_many_streams()

def stalled_past_deadline():
    """An Upload with grpc-timeout 300m whose client then sends nothing:
    the server itself ends the stream (HEADERS with END_STREAM: the
    trailers) once the deadline passes, not the idle timeout later."""
    s = connect()
    r = Reader(s)
    s.sendall(frame(SETTINGS, ACK, 0) +
              frame(HEADERS, END_HEADERS, 1,
                    request_headers("/sidik.v1.Ingest/Upload") +
                    b"\x00\x0cgrpc-timeout\x04300m"))
    t0 = time.monotonic()
    ended = None
    if r.until(lambda: any(t == HEADERS and sid == 1 and f & END_STREAM
                           for t, f, sid, _ in r.frames), 5):
        ended = time.monotonic() - t0
    check(f"a call stalled past its grpc-timeout (300 ms) is ended by the server "
          f"({'after %.2f s' % ended if ended is not None else 'not within 5 s'})",
          ended is not None and 0.25 <= ended < 2)
    s.close()


stalled_past_deadline()

# A well-behaved client with more calls than the server's streams: grpcio
# holds the excess until streams free up, and every call is answered.
polite = rpc.StatusStub(channel(pki, port, "office-BDG-02"))
futures = [polite.List.future(pb.ListStatusRequest(), timeout=20) for _ in range(3 * max_streams)]
answered = 0
for f in futures:
    try:
        f.result()
        answered += 1
    except grpc.RpcError as e:
        print(e)
check(f"{3 * max_streams} concurrent calls on one grpcio channel are all answered ({answered})",
      answered == 3 * max_streams)

stop.set()
watcher.join()
fails = bystander["failures"]
check(f"the other office was served throughout ({bystander['calls']} calls, {len(fails)} failed"
      + (f", first: {fails[0]}" if fails else "") + ")",
      bystander["calls"] > 0 and not fails)
sys.exit(1 if failed else 0)
