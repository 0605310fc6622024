#!/usr/bin/python3
"""A fault-injecting TCP proxy for the uploader's tests (issue 9).

It sits between a client and sidikd, both on loopback, and does to the bytes
what an office's link does: passes them; cuts every connection after N bytes
or T seconds; goes down for D seconds (new connections refused, open ones
cut); stalls (holds bytes without forwarding for S seconds); throttles each
direction to a rate in bits per second with an added one-way delay; flips one
bit every K bytes in one direction, so TLS must notice. Settings come from
the command line and can be changed while it runs through a control port.

  fault_proxy.py --upstream 127.0.0.1:PORT --lifetime SECONDS [settings]
  fault_proxy.py --ctl CONTROL_PORT COMMAND...        (one control command)

Settings (command line `--name value`, control `set name=value ...`):
  rate          bits/s per direction, 0 = unshaped ("64k", "1M")
  delay_ms      added one-way delay (150 gives an RTT of 300 ms)
  buffer        bytes queued per direction before the sender is held back
                (a router's buffer; default 65536)
  cut_bytes     cut each connection once this many bytes crossed it (both
                directions together), 0 = never
  cut_after     cut each connection this many seconds after it opened
  cut_how       reset (RST to both sides, default), close (FIN), or silent
                (stop forwarding, keep both sockets open: a link that died
                without telling anyone, left to the peers' timeouts)
  stall_after   per connection: once this many bytes crossed it, hold all
                its bytes for stall_s seconds (once); -1 = never (default)
  stall_s       see stall_after
  corrupt_every flip one bit of every K-th byte, 0 = never
  corrupt_dir   up (client to server, default), down, or both
  down_how      how new connections are refused while down: unlisten
                (connection refused, default), close (accepted, then closed)
                or blackhole (accepted, then nothing until the link is up)

Control commands (one per line on the control port; each answers one line,
"ok ..." or "error ..."):
  set NAME=VALUE ...   change settings; open connections follow at once
  down SECONDS [keep]  refuse new connections for SECONDS; open ones are cut
                       (cut_how) unless "keep"
  stall SECONDS        hold every connection's bytes for SECONDS
  cut                  cut every open connection now
  stats                the counts so far, one line
  reset                every setting back to pass-through
  quit                 stop now

Output: "listening 127.0.0.1:PORT" then "control 127.0.0.1:PORT" on stdout at
start; on stderr one line per connection when it ends ("conn id=3 up=1234
down=5678 secs=2.10 end=cut-bytes": up is client to server, bytes delivered)
and a "total" line at exit, so tests can measure bytes on the wire. It only
talks to loopback addresses, and stops by itself after --lifetime seconds;
every wait in it is bounded by that lifetime.

Standard library only (asyncio), run with /usr/bin/python3.
"""
import argparse
import asyncio
import ipaddress
import signal
import socket
import struct
import sys
import time

CHUNK_MAX = 16384


def number(text):
    """'64k' -> 64000, '1M' -> 1000000, '1.5' -> 1.5 (decimal suffixes)."""
    mult = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}.get(text[-1:], 1)
    value = float(text[:-1] if mult != 1 else text) * mult
    return int(value) if value == int(value) else value


SETTINGS = {  # name: (parse, pass-through value)
    "rate": (number, 0),
    "delay_ms": (number, 0),
    "buffer": (number, 65536),
    "cut_bytes": (number, 0),
    "cut_after": (number, 0),
    "cut_how": (str, "reset"),
    "stall_after": (number, -1),
    "stall_s": (number, 0),
    "corrupt_every": (number, 0),
    "corrupt_dir": (str, "up"),
    "down_how": (str, "unlisten"),
}
CHOICES = {"cut_how": ("reset", "close", "silent"), "corrupt_dir": ("up", "down", "both"),
           "down_how": ("unlisten", "close", "blackhole")}


def check(name, value):
    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name}")
    value = SETTINGS[name][0](value) if isinstance(value, str) else value
    if name in CHOICES and value not in CHOICES[name]:
        raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])}")
    if name not in CHOICES and name != "stall_after" and value < 0:
        raise ValueError(f"{name} must not be negative")
    if name == "buffer" and value < 1:
        raise ValueError("buffer must be at least 1 byte")
    return value


def loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Direction:
    """One way through a connection: a reader fills a bounded queue of
    (delivery time, bytes); a writer delivers each chunk at its time. The
    queue's bound is what holds a fast sender back, as a real link would
    once its buffer is full, instead of the proxy swallowing everything."""

    def __init__(self, conn, name, reader, writer):
        self.conn, self.name, self.reader, self.writer = conn, name, reader, writer
        self.queue = []
        self.queued = 0
        self.cond = asyncio.Condition()
        self.free_at = 0.0  # when the simulated line is next idle
        self.read_pos = 0   # bytes read, for corruption offsets
        self.flips = 0
        self.delivered = 0
        self.eof = False

    def corrupts(self, s):
        return s["corrupt_every"] > 0 and s["corrupt_dir"] in (self.name, "both")

    async def read_loop(self):
        p = self.conn.proxy
        while True:
            s = p.settings
            rate = s["rate"]
            # Small reads when shaping, so the rate holds within ~50 ms.
            size = max(256, min(CHUNK_MAX, int(rate / 8 / 20))) if rate else CHUNK_MAX
            async with self.cond:
                await self.cond.wait_for(lambda: self.queued < p.settings["buffer"])
            data = await self.reader.read(size)
            if not data:
                async with self.cond:
                    self.queue.append((0.0, b""))
                    self.cond.notify_all()
                return
            if self.corrupts(s):
                k, buf = s["corrupt_every"], bytearray(data)
                first = k - 1 - self.read_pos % k
                for i in range(first, len(buf), k):
                    buf[i] ^= 1 << (self.flips % 8)
                    self.flips += 1
                data = bytes(buf)
            self.read_pos += len(data)
            now = time.monotonic()
            at = now
            if rate:
                self.free_at = max(now, self.free_at) + len(data) * 8 / rate
                at = self.free_at
            at += s["delay_ms"] / 1000
            async with self.cond:
                self.queue.append((at, data))
                self.queued += len(data)
                self.cond.notify_all()

    async def write_loop(self):
        p, c = self.conn.proxy, self.conn
        while True:
            async with self.cond:
                await self.cond.wait_for(lambda: self.queue)
                at, data = self.queue[0]
            if not data:
                self.eof = True
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                return
            # Polled, so that a stall or a reset made meanwhile takes effect.
            while (wait := max(at, p.hold_until, c.hold_until) - time.monotonic()) > 0:
                await asyncio.sleep(min(wait, 0.05))
            cut = p.settings["cut_bytes"]
            out = data[: max(0, cut - c.total)] if cut and c.total + len(data) >= cut else data
            c.total += len(out)  # before the await: the other direction counts too
            self.delivered += len(out)
            self.writer.write(out)
            await self.writer.drain()
            async with self.cond:
                self.queue.pop(0)
                self.queued -= len(data)
                self.cond.notify_all()
            if cut and c.total >= cut:
                c.cut("cut-bytes")
                return
            s = p.settings
            if s["stall_after"] >= 0 and not c.stalled and c.total >= s["stall_after"]:
                c.stalled = True
                c.hold_until = time.monotonic() + s["stall_s"]


class Conn:
    def __init__(self, proxy, cid, client_reader, client_writer):
        self.proxy, self.id = proxy, cid
        self.creader, self.cwriter = client_reader, client_writer
        self.swriter = None
        self.start = time.monotonic()
        self.total = 0
        self.hold_until = 0.0
        self.stalled = False
        self.end = None
        self.silent = False
        self.dirs = []
        self.tasks = []

    def cut(self, why):
        """Ends the connection as the link would (cut_how)."""
        if self.end is not None:
            return
        self.end = why
        how = self.proxy.settings["cut_how"]
        for t in self.tasks:
            if t is not asyncio.current_task():
                t.cancel()
        if how == "silent":
            self.silent = True
            return  # both sockets stay open and quiet until the proxy stops
        for w in (self.cwriter, self.swriter):
            if w is None:
                continue
            if how == "reset":
                sock = w.get_extra_info("socket")
                try:  # linger 0: close() sends RST, as a dead link's peer would see
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except (OSError, AttributeError):
                    pass  # already closed by the peer's reset
                w.transport.abort()
            else:
                w.close()

    async def run(self):
        p = self.proxy
        try:
            sreader, self.swriter = await asyncio.wait_for(
                asyncio.open_connection(p.up_host, p.up_port), 10)
        except (OSError, asyncio.TimeoutError):
            self.end = "upstream-refused"
            self.cwriter.transport.abort()
            return
        up = Direction(self, "up", self.creader, self.swriter)
        down = Direction(self, "down", sreader, self.cwriter)
        self.dirs = [up, down]
        self.tasks = [asyncio.ensure_future(x) for x in
                      (up.read_loop(), up.write_loop(), down.read_loop(), down.write_loop())]
        if p.settings["cut_after"]:
            self.tasks.append(asyncio.ensure_future(self.cut_later(p.settings["cut_after"])))
        try:
            # Done when both directions delivered their EOF, or when cut; a
            # peer's reset (an exception in a loop) is passed on as a cut.
            while self.end is None and not (up.eof and down.eof):
                done, _ = await asyncio.wait(self.tasks[:4], timeout=0.5,
                                             return_when=asyncio.FIRST_EXCEPTION)
                if any(not t.cancelled() and t.exception() is not None for t in done):
                    self.cut("error")
            self.end = self.end or "eof"
        finally:
            for t in self.tasks:
                t.cancel()
        if self.silent:
            await p.stop.wait()  # a silent cut holds both sockets until the proxy stops
        for w in (self.cwriter, self.swriter):
            w.close()

    async def cut_later(self, secs):
        await asyncio.sleep(secs)
        self.cut("cut-time")

    def line(self):
        up, down = (d.delivered for d in self.dirs) if self.dirs else (0, 0)
        return (f"conn id={self.id} up={up} down={down} "
                f"secs={time.monotonic() - self.start:.2f} end={self.end or 'open'}")


class Proxy:
    def __init__(self, args):
        self.settings = {k: v[1] for k, v in SETTINGS.items()}
        self.up_host, self.up_port = args.upstream
        self.host, self.port = "127.0.0.1", args.listen_port
        self.lifetime = args.lifetime
        self.server = None
        self.conns = {}
        self.ended = []
        self.next_id = 1
        self.refused = 0
        self.down_until = 0.0
        self.hold_until = 0.0
        self.stop = None
        self.up_task = None

    def log(self, text):
        print(text, file=sys.stderr, flush=True)

    async def on_client(self, reader, writer):
        if time.monotonic() < self.down_until:
            self.refused += 1
            if self.settings["down_how"] == "blackhole":
                # Held open and silent until the link is back, then closed.
                try:
                    await asyncio.sleep(max(0.0, self.down_until - time.monotonic()))
                finally:
                    writer.transport.abort()
            else:
                writer.transport.abort()
            return
        cid, self.next_id = self.next_id, self.next_id + 1
        c = Conn(self, cid, reader, writer)
        self.conns[cid] = c
        try:
            await c.run()
        finally:
            self.conns.pop(cid, None)
            self.ended.append(c.line())
            self.log(c.line())

    async def listen(self):
        self.server = await asyncio.start_server(self.on_client, self.host, self.port,
                                                 reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def go_down(self, secs, keep):
        self.down_until = time.monotonic() + secs
        if not keep:
            for c in list(self.conns.values()):
                c.cut("down")
        if self.settings["down_how"] == "unlisten" and self.server is not None:
            self.server.close()
            self.server = None
            if self.up_task is not None:
                self.up_task.cancel()
            self.up_task = asyncio.ensure_future(self.relisten(secs))

    async def relisten(self, secs):
        await asyncio.sleep(secs)
        await self.listen()

    async def command(self, line):
        words = line.split()
        if not words:
            return "error empty command"
        cmd, rest = words[0], words[1:]
        try:
            if cmd == "set":
                new = {}
                for kv in rest:
                    name, _, value = kv.partition("=")
                    new[name] = check(name, value)
                self.settings.update(new)
                return "ok " + " ".join(f"{k}={v}" for k, v in new.items())
            if cmd == "down":
                await self.go_down(float(rest[0]), rest[1:] == ["keep"])
                return f"ok down {float(rest[0])}"
            if cmd == "stall":
                self.hold_until = time.monotonic() + float(rest[0])
                return f"ok stall {float(rest[0])}"
            if cmd == "cut":
                n = len(self.conns)
                for c in list(self.conns.values()):
                    c.cut("cut")
                return f"ok cut {n}"
            if cmd == "stats":
                return "ok " + self.totals()
            if cmd == "reset":
                self.settings = {k: v[1] for k, v in SETTINGS.items()}
                self.down_until = self.hold_until = 0.0
                return "ok reset"
            if cmd == "quit":
                self.stop.set()
                return "ok quit"
        except (ValueError, IndexError) as e:
            return f"error {e}"
        return f"error unknown command {cmd}"

    async def on_control(self, reader, writer):
        try:
            while True:
                line = await asyncio.wait_for(reader.readline(), self.lifetime)
                if not line:
                    break
                writer.write((await self.command(line.decode(errors="replace")) + "\n").encode())
                await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def totals(self):
        live = list(self.conns.values())
        up = sum(d.delivered for c in live for d in c.dirs[:1])
        down = sum(d.delivered for c in live for d in c.dirs[1:])
        for text in self.ended:
            f = dict(x.split("=", 1) for x in text.split()[1:])
            up, down = up + int(f["up"]), down + int(f["down"])
        return (f"conns={self.next_id - 1} open={len(live)} refused={self.refused} "
                f"up={up} down={down}")

    async def main(self, args):
        self.stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        for name in SETTINGS:
            value = getattr(args, name)
            if value is not None:
                self.settings[name] = check(name, value)
        await self.listen()
        control = await asyncio.start_server(self.on_control, "127.0.0.1", args.control_port)
        if args.down:
            await self.go_down(args.down, True)
        print(f"listening 127.0.0.1:{self.port}", flush=True)
        print(f"control 127.0.0.1:{control.sockets[0].getsockname()[1]}", flush=True)
        try:
            await asyncio.wait_for(self.stop.wait(), self.lifetime)
            why = "stopped"
        except asyncio.TimeoutError:
            why = "lifetime"
        control.close()
        if self.server is not None:
            self.server.close()
        if self.up_task is not None:
            self.up_task.cancel()
        self.settings["cut_how"] = "close"
        for c in list(self.conns.values()):
            c.end = c.end or why
            c.cut(why)
        self.stop.set()
        await asyncio.sleep(0.1)  # let the connections' handlers log their lines
        self.log(f"total {self.totals()} end={why}")


def address(text):
    host, _, port = text.rpartition(":")
    if not loopback(host):
        raise argparse.ArgumentTypeError(f"{host}: only loopback addresses")
    return host, int(port)


def ctl(port, words):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((" ".join(words) + "\n").encode())
        reply = s.makefile().readline().strip()
    print(reply)
    return 0 if reply.startswith("ok") else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ctl", type=int, metavar="CONTROL_PORT", help="send one control command")
    ap.add_argument("--upstream", type=address, help="HOST:PORT of the server (loopback)")
    ap.add_argument("--listen-port", type=int, default=0, help="default: one the kernel picks")
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=300, help="stop after this many seconds")
    ap.add_argument("--down", type=float, help="start down for this many seconds")
    for name in SETTINGS:
        ap.add_argument("--" + name.replace("_", "-"), dest=name)
    args, rest = ap.parse_known_args()
    if args.ctl is not None:
        return ctl(args.ctl, rest)
    if rest:
        ap.error(f"unexpected {' '.join(rest)}")
    if args.upstream is None:
        ap.error("--upstream is required")
    if not 0 < args.lifetime <= 86400:
        ap.error("--lifetime must be within (0, 86400] seconds")
    try:
        asyncio.run(Proxy(args).main(args))
    except ValueError as e:
        ap.error(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
