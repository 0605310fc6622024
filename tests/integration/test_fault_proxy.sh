#!/bin/sh
# The fault proxy (fault_proxy.py) checked against a tiny echo server behind
# it: each mode does what it says. Pass-through is exact; the throttle holds
# 64 kbit/s (between 0.5x and 1.2x over 3 s: the proxy's own shaping, not a
# product speed) with a 300 ms round trip; a cut comes after exactly N bytes
# or T seconds (or, silently, nothing more); while down, connections are
# refused (or accepted and closed, or held silent) and afterwards served again; a stall delays delivery by at least S; a
# corrupted byte arrives with one bit flipped; and real TLS through the
# corrupting proxy fails with a TLS error instead of delivering altered
# data. Also: loopback only, the lifetime, and the byte counts on stderr.
#   test_fault_proxy.sh SOURCE_DIR
set -eu
src=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sidik-fault-proxy-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A self-signed certificate for the TLS check (the openssl command line).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

exec /usr/bin/python3 - "$src/tests/integration/fault_proxy.py" "$tmp" <<'PY'
import os, socket, ssl, subprocess, sys, threading, time

proxy_py, tmp = sys.argv[1], sys.argv[2]
failures = []

def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)

def echo_server():
    """Echoes every byte back on each connection (a thread per connection)."""
    ls = socket.create_server(("127.0.0.1", 0))
    def serve(c):
        with c:
            try:
                while (d := c.recv(65536)):
                    c.sendall(d)
            except OSError:
                pass
    def accept():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return ls.getsockname()[1]

class Proxy:
    def __init__(self, upstream, *args, lifetime=60):
        self.p = subprocess.Popen(
            ["/usr/bin/python3", proxy_py, "--upstream", f"127.0.0.1:{upstream}",
             "--lifetime", str(lifetime), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = int(self.p.stdout.readline().split(":")[1])
        self.cport = int(self.p.stdout.readline().split(":")[1])

    def ctl(self, cmd):
        with socket.create_connection(("127.0.0.1", self.cport), timeout=10) as s:
            s.sendall((cmd + "\n").encode())
            reply = s.makefile().readline().strip()
        assert reply.startswith("ok"), reply
        return reply

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return s

    def stop(self):
        self.ctl("quit")
        _, err = self.p.communicate(timeout=10)
        return err

def conn_lines(err):
    out = []
    for line in err.splitlines():
        if line.startswith("conn "):
            out.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return out

def recv_exactly(s, n):
    got = b""
    while len(got) < n:
        d = s.recv(n - len(got))
        if not d:
            break
        got += d
    return got

def recv_until_closed(s, limit=10):
    got, end = b"", time.monotonic() + limit
    s.settimeout(limit)
    try:
        while time.monotonic() < end and (d := s.recv(65536)):
            got += d
    except (ConnectionResetError, socket.timeout):
        pass
    return got

echo = echo_server()

# Pass-through: every byte, both ways, and the counts on stderr.
p = Proxy(echo)
data = os.urandom(100000)
s = p.connect()
s.sendall(data)
check(recv_exactly(s, len(data)) == data, "pass-through delivers 100,000 bytes unchanged")
s.close()
time.sleep(0.3)
err = p.stop()
lines = conn_lines(err)
check(len(lines) == 1 and lines[0]["up"] == "100000" and lines[0]["down"] == "100000",
      "stderr counts 100000 bytes each way: " + err.strip().replace("\n", " | "))
check("total conns=1" in err, "a total line at exit")

# Throttle: 64 kbit/s each way, 150 ms one way.
p = Proxy(echo, "--rate", "64k", "--delay-ms", "150")
s = p.connect()
t0 = time.monotonic()
s.sendall(b"x")
s.recv(1)
rtt = time.monotonic() - t0
check(0.28 <= rtt <= 0.6, f"round trip {rtt:.3f} s with 150 ms each way")
stop = threading.Event()
def flood():
    try:
        while not stop.is_set():
            s.sendall(b"a" * 1024)
    except OSError:
        pass
threading.Thread(target=flood, daemon=True).start()
got, start = 0, None
while True:
    d = s.recv(65536)
    now = time.monotonic()
    if start is None:
        start = now  # the line is busy from here on
    else:
        got += len(d)
    if now - start >= 3:
        break
rate = got * 8 / (time.monotonic() - start)
check(0.5 * 64000 <= rate <= 1.2 * 64000, f"throughput {rate / 1000:.1f} kbit/s at a 64 kbit/s setting")
stop.set()
s.close()
# Changed while running: unshaped again.
p.ctl("set rate=0 delay_ms=0")
s = p.connect()
t0 = time.monotonic()
s.sendall(data)
ok = recv_exactly(s, len(data)) == data
check(ok and time.monotonic() - t0 < 2, "rate=0 set at run time: 100,000 bytes at once")
s.close()
p.stop()

# Cut after N bytes (both directions together), and after T seconds.
p = Proxy(echo, "--cut-bytes", "5000")
s = p.connect()
back = b""
try:  # 1000 up, 1000 back, ...: the cut comes in the middle of the third send
    for _ in range(10):
        s.sendall(b"b" * 1000)
        d = recv_exactly(s, 1000)
        back += d
        if len(d) < 1000:
            break
except ConnectionResetError:
    pass
s.close()
time.sleep(0.3)
lines = conn_lines(p.stop())
c = lines[0]
check(c["end"] == "cut-bytes" and (c["up"], c["down"]) == ("3000", "2000"),
      f"cut after 5000 bytes: up={c['up']} down={c['down']} end={c['end']}")
check(len(back) == 2000, f"the client got {len(back)} bytes back, then the cut")
p = Proxy(echo, "--cut-bytes", "10", "--cut-how", "silent")
s = p.connect()
s.sendall(b"e" * 100)
s.settimeout(1.5)
back, silent = b"", False
try:
    while (d := s.recv(100)):
        back += d
except socket.timeout:
    silent = True
s.close()
time.sleep(0.2)
c = conn_lines(p.stop())[0]
check(silent and back == b"" and (c["up"], c["down"], c["end"]) == ("10", "0", "cut-bytes"),
      f"a silent cut: 10 bytes crossed ({c}), then nothing and no close")
p = Proxy(echo, "--cut-after", "1", "--cut-how", "close")
s = p.connect()
t0 = time.monotonic()
s.sendall(b"hello")
back = recv_until_closed(s)
took = time.monotonic() - t0
check(back == b"hello" and 0.9 <= took <= 2.5, f"cut after 1 s: closed after {took:.2f} s")
s.close()
p.stop()

# Down: refused while down, served again after; open connections cut.
p = Proxy(echo)
held = p.connect()
held.sendall(b"before")
recv_exactly(held, 6)
p.ctl("down 2")
t0 = time.monotonic()
try:
    p.connect().close()
    refused = False
except ConnectionRefusedError:
    refused = True
check(refused, "while down (unlisten) a connection is refused")
check(recv_until_closed(held, 3) == b"", "the open connection was cut when the link went down")
while time.monotonic() - t0 < 2.3:
    time.sleep(0.1)
s = p.connect()
s.sendall(b"after")
check(recv_exactly(s, 5) == b"after", "after 2 s down the link serves again")
s.close()
p.ctl("set down_how=close")
p.ctl("down 1 keep")
s = p.connect()  # accepted, then closed at once
check(recv_until_closed(s, 3) == b"", "while down (close) a connection is accepted and closed")
s.close()
time.sleep(1.2)
s = p.connect()
s.sendall(b"again")
check(recv_exactly(s, 5) == b"again", "and served again when up")
s.close()
p.ctl("set down_how=blackhole")
p.ctl("down 1 keep")
s = p.connect()  # accepted, then silence until the link is up, then closed
t0 = time.monotonic()
s.sendall(b"x")
back = recv_until_closed(s, 5)
took = time.monotonic() - t0
check(back == b"" and 0.8 <= took <= 2, f"while down (blackhole) silence, closed after {took:.2f} s")
s.close()
held.close()
p.stop()

# Stall: bytes held for S seconds, for everyone (control) or per connection
# after some bytes (command line).
p = Proxy(echo, "--stall-after", "1000", "--stall-s", "1")
s = p.connect()
# Times are taken before what starts a stall: the proxy's clock starts it
# a little after the client's, so a stall measured from a moment the client
# sees after it (the echo's arrival, the control's answer) can read short.
t0 = time.monotonic()
s.sendall(b"c" * 600)
first = recv_exactly(s, 600)  # 1200 bytes crossed: the stall begins
t1 = time.monotonic()
s.sendall(b"d" * 10)
rest = recv_exactly(s, 10)
took = time.monotonic() - t0
check(first == b"c" * 600 and t1 - t0 < 0.5 and rest == b"d" * 10 and took >= 1.0,
      f"stall after 1000 bytes: the first at once, the next {took:.2f} s after the first was sent (>= 1 s)")
s.close()
s = p.connect()
t0 = time.monotonic()
p.ctl("stall 1.5")
s.sendall(b"ping")
back = recv_exactly(s, 4)
took = time.monotonic() - t0
check(back == b"ping" and took >= 1.5, f"stall 1.5 s: delivered {took:.2f} s after the command")
s.close()
p.stop()

# Corruption: one bit of every 1000th byte, client to server only.
p = Proxy(echo, "--corrupt-every", "1000", "--corrupt-dir", "up")
s = p.connect()
zeros = bytes(5000)
s.sendall(zeros)
back = recv_exactly(s, 5000)
diff = [i for i in range(5000) if back[i] != 0]
check(diff == [999, 1999, 2999, 3999, 4999] and all(bin(back[i]).count("1") == 1 for i in diff),
      f"one bit flipped at every 1000th byte: {diff}")
s.close()
p.stop()

# Real TLS through the corrupting proxy: an error, never altered data.
def tls_server():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(f"{tmp}/cert.pem", f"{tmp}/key.pem")
    ls = socket.create_server(("127.0.0.1", 0))
    result = {}
    def serve():
        c, _ = ls.accept()
        c.settimeout(10)
        got = b""
        try:
            with ctx.wrap_socket(c, server_side=True) as t:
                while (d := t.recv(65536)):
                    got += d
        except ssl.SSLError as e:
            result["error"] = e.reason or str(e)
        except OSError as e:
            result["error"] = "os: " + str(e)
        result["got"] = got
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return ls.getsockname()[1], th, result

def tls_client(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(f"{tmp}/cert.pem")
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")

# Up: the handshake (well under 1 KB from the client) and the first 16 KB
# record pass; the second record is hit.
port, th, result = tls_server()
p = Proxy(port, "--corrupt-every", "20000", "--corrupt-dir", "up")
payload = os.urandom(40000)
try:
    c = tls_client(p.port)
    c.sendall(payload)
    c.close()
except OSError:
    pass
th.join(10)
got = result.get("got", b"")
check("error" in result, f"TLS server saw an error: {result.get('error')}")
check(payload.startswith(got) and 0 < len(got) < len(payload),
      f"what it delivered ({len(got)} bytes) is an unaltered prefix")
p.stop()
# Down: the server's handshake messages are hit; the client refuses.
port, th, result = tls_server()
p = Proxy(port, "--corrupt-every", "200", "--corrupt-dir", "down")
try:
    c = tls_client(p.port)
    c.sendall(b"hello")
    c.recv(10)
    client_error = None
except ssl.SSLError as e:
    client_error = e.reason or str(e)
except OSError as e:
    client_error = "os: " + str(e)
check(client_error is not None and not str(client_error).startswith("os:"),
      f"TLS client saw a TLS error: {client_error}")
th.join(10)
p.stop()

# Loopback only; the lifetime ends it by itself.
r = subprocess.run(["/usr/bin/python3", proxy_py, "--upstream", "10.1.2.3:80", "--lifetime", "5"],
                   capture_output=True, text=True, timeout=10)
check(r.returncode == 2 and "loopback" in r.stderr, "a non-loopback upstream is refused")
t0 = time.monotonic()
p = Proxy(echo, lifetime=1)
s = p.connect()
_, err = p.p.communicate(timeout=10)
took = time.monotonic() - t0
check(p.p.returncode == 0 and "end=lifetime" in err and took < 3,
      f"stopped by itself after its 1 s lifetime ({took:.2f} s)")
s.close()

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all fault proxy checks passed")
PY
