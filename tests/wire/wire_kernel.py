#!/usr/bin/env python3
"""Runner of the scripted wire tests (tests/wire/README.md) against the Linux
kernel: each script runs in a child process in a network namespace of its own
with a tun device (the kernel is 198.18.0.1, the scripted peer 198.18.0.2
behind tun0), in wall-clock time. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).

Usage: wire_kernel.py [-j N] SCRIPT...   exit status 1 if any script fails.
A script that fails is tried again, three times in all: wall-clock timing on
a loaded machine is noisy, and a script is wrong only if the kernel fails it
every time."""

import ctypes
import errno
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import time

IP_US, IP_PEER = "198.18.0.1", "198.18.0.2"
PEER_ISN, PEER_PORT, TS_BASE = 1000000000, 40000, 1000
DEFAULT_TOL = 0.06
MSG_MORE = 0x8000
TRACE = os.environ.get("WIRE_TRACE") == "1"  # print every segment the kernel sends
# WIRE_TRACE=2: print them and let segments no line expects pass (to see
# what the kernel does while writing a script).
RECORD = os.environ.get("WIRE_TRACE") == "2"
TRACE = TRACE or RECORD

SOCKOPTS = {
    "SO_KEEPALIVE": (1, 9), "SO_RCVBUF": (1, 8), "SO_SNDBUF": (1, 7), "SO_ERROR": (1, 4),
    "SO_LINGER": (1, 13), "IP_TOS": (0, 1), "IP_TTL": (0, 2), "IP_MTU_DISCOVER": (0, 10),
    "IP_MTU": (0, 14), "TCP_NODELAY": (6, 1), "TCP_MAXSEG": (6, 2), "TCP_CORK": (6, 3),
    "TCP_KEEPIDLE": (6, 4), "TCP_KEEPINTVL": (6, 5), "TCP_KEEPCNT": (6, 6), "TCP_SYNCNT": (6, 7),
    "TCP_LINGER2": (6, 8), "TCP_DEFER_ACCEPT": (6, 9), "TCP_WINDOW_CLAMP": (6, 10),
    "TCP_QUICKACK": (6, 12), "TCP_USER_TIMEOUT": (6, 18), "TCP_NOTSENT_LOWAT": (6, 25),
    "TCP_INQ": (6, 36),
}
ERRNOS = ["EAGAIN", "EINPROGRESS", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE",
          "ENOTCONN", "EINVAL", "EISCONN", "ENOPROTOOPT", "EALREADY"]
EVENTS = {"IN": select.POLLIN, "OUT": select.POLLOUT, "ERR": select.POLLERR,
          "HUP": select.POLLHUP, "RDHUP": 0x2000}
FLAGS = "FSRP.U_p"
PSH_ANY = 0x80  # `p`: PSH either way (where Linux puts it inside a flight depends on GSO)


class Fail(Exception):
    pass


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def parse_flags(s):
    f = 0
    for c in s:
        i = FLAGS.find(c)
        if i < 0:
            raise Fail("bad flag %r" % c)
        f |= 0x10 if c == "." else 0x20 if c == "U" else PSH_ANY if c == "p" else 1 << i
    return f


def flag_str(f):
    return "".join(c for i, c in enumerate(FLAGS) if f & (1 << i))


def parse_value(s):
    """(value, is_errno)"""
    if s in ERRNOS:
        return getattr(errno, s), True
    return int(s, 0), False


def parse_opts(s):
    if s == "-":
        return []
    out = []
    for tok in s.split(","):
        kind, _, val = tok.partition(":")
        o = {"kind": kind, "val": None}
        if val:
            if kind == "sack":
                o["val"] = [tuple(int(x, 0) for x in b.split("-")) for b in val.split("/")]
            elif kind == "raw":
                o["val"] = bytes.fromhex(val)
            else:
                o["val"] = int(val, 0)
        out.append(o)
    return out


def parse_seg(toks):
    g = {"flags": parse_flags(toks[0]), "len": 0, "opt": None, "tol": DEFAULT_TOL}
    for t in toks[1:]:
        if t.startswith("~"):
            g["tol"] = float(t[1:])
            continue
        k, eq, v = t.partition("=")
        if not eq:
            raise Fail("bad segment field %r" % t)
        if k == "opt":
            g["opt"] = parse_opts(v)
        elif k in ("seq", "ack", "win", "len", "tsval", "port"):
            g[k] = int(v, 0)
        else:
            raise Fail("unknown segment field %r" % k)
    return g


class Run:
    def __init__(self, name):
        self.name = name
        self.socks = {}
        self.isn = 0
        self.port = 0
        self.peer_port = PEER_PORT
        self.peer_ts = self.stack_ts = False
        self.last_tsval = 0
        self.win = 65535  # the peer's window stays until a line changes it
        self.queue = []  # (time, bytes) received from the tun
        self.t0 = 0.0
        self.prev_t = 0.0

    # ---- the namespace and the tun ----
    def setup(self):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
            raise Fail("unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno()))
        self.tun = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        ifr = struct.pack("16sH22x", b"tun0", 0x0001 | 0x1000)  # IFF_TUN | IFF_NO_PI
        fcntl.ioctl(self.tun, 0x400454CA, ifr)  # TUNSETIFF
        self.sysctl("net.ipv6.conf.all.disable_ipv6", "1")
        self.sysctl("net.ipv6.conf.default.disable_ipv6", "1")
        # Linux's own defaults, whatever the host is tuned to (a new
        # namespace copies the host's tcp_rmem and tcp_wmem).
        self.sysctl("net.ipv4.tcp_rmem", "4096,131072,6291456")
        self.sysctl("net.ipv4.tcp_wmem", "4096,16384,4194304")
        for cmd in ("ip link set lo up", "ip addr add %s/24 dev tun0" % IP_US,
                    "ip link set tun0 up"):
            subprocess.run(cmd.split(" "), check=True)

    def now(self):
        return time.monotonic() - self.t0

    def drain(self, until):
        """Read the tun until `until` (script time) or the first TCP segment."""
        while True:
            left = until - self.now()
            r, _, _ = select.select([self.tun], [], [], max(left, 0))
            if r:
                while True:
                    try:
                        b = os.read(self.tun, 65536)
                    except BlockingIOError:
                        break
                    if len(b) >= 40 and b[0] >> 4 == 4 and b[9] == 6:
                        self.queue.append((self.now(), b))
                        if TRACE:
                            g = self.decode(b)
                            g["seq"] = (g["seq"] - self.isn) & 0xFFFFFFFF
                            g["ack"] = (g["ack"] - PEER_ISN) & 0xFFFFFFFF
                            sys.stderr.write("%.3f > %s\n" % (self.now(), self.describe(g, False)))
                if self.queue:
                    return
            if left <= 0:
                return

    # ---- segments ----
    def build_opts(self, g, auto_ts):
        tsval = g.get("tsval", TS_BASE + int(self.now() * 1000))
        out = b""
        for o in g["opt"] or []:
            k, v = o["kind"], o["val"]
            if k == "mss":
                out += struct.pack("!BBH", 2, 4, v)
            elif k == "ws":
                out += struct.pack("!BBB", 3, 3, v)
            elif k == "sackok":
                out += b"\x04\x02"
            elif k == "ts":
                out += struct.pack("!BBII", 8, 10, tsval, self.last_tsval if g["flags"] & 0x10 else 0)
            elif k == "nop":
                out += b"\x01"
            elif k == "eol":
                out += b"\x00"
            elif k == "sack":
                out += struct.pack("!BB", 5, 2 + 8 * len(v))
                for a, b in v:
                    out += struct.pack("!II", (self.isn + a) & 0xFFFFFFFF, (self.isn + b) & 0xFFFFFFFF)
            elif k == "raw":
                out += v
        if auto_ts:
            out += struct.pack("!BBBBII", 1, 1, 8, 10, tsval, self.last_tsval)
        while len(out) % 4:
            out += b"\0"
        return out

    def inject(self, g):
        flags = g["flags"]
        auto_ts = g["opt"] is None and self.peer_ts and self.stack_ts and not flags & 0x02
        opts = self.build_opts(g, auto_ts)
        if len(opts) > 40:
            raise Fail("options longer than 40 bytes")
        payload = b"x" * g["len"]
        ack = (self.isn + g.get("ack", 0)) & 0xFFFFFFFF if flags & 0x10 else 0
        self.win = g.get("win", self.win)
        th = struct.pack("!HHIIBBHHH", g.get("port", self.peer_port), self.port,
                         (PEER_ISN + g.get("seq", 0)) & 0xFFFFFFFF, ack,
                         (20 + len(opts)) // 4 << 4, flags, self.win, 0, 0)
        seg = th + opts + payload
        src, dst = socket.inet_aton(IP_PEER), socket.inet_aton(IP_US)
        ph = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        seg = seg[:16] + struct.pack("!H", csum(ph + seg)) + seg[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        if flags & 0x02 and not flags & 0x10:
            self.peer_ts = any(o["kind"] == "ts" for o in g["opt"] or [])
        os.write(self.tun, ip + seg)

    def decode(self, b):
        ihl = (b[0] & 15) * 4
        tot = struct.unpack("!H", b[2:4])[0]
        th = b[ihl:tot]
        sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", th[:16])
        hlen = (off >> 4) * 4
        g = {"sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags & 0x3F,
             "win": win, "len": len(th) - hlen, "opt": [], "tsval": None}
        i = 20
        while i < hlen:
            k = th[i]
            if k == 0:
                break
            if k == 1:
                i += 1
                continue
            ln = th[i + 1]
            body = th[i + 2:i + ln]
            if k == 2:
                g["opt"].append({"kind": "mss", "val": struct.unpack("!H", body)[0]})
            elif k == 3:
                g["opt"].append({"kind": "ws", "val": body[0]})
            elif k == 4:
                g["opt"].append({"kind": "sackok", "val": None})
            elif k == 5:
                blocks = [struct.unpack("!II", body[j:j + 8]) for j in range(0, len(body), 8)]
                g["opt"].append({"kind": "sack", "val": [((a - PEER_ISN) & 0xFFFFFFFF,
                                                          (e - PEER_ISN) & 0xFFFFFFFF) for a, e in blocks]})
            elif k == 8:
                g["opt"].append({"kind": "ts", "val": None})
                g["tsval"] = struct.unpack("!I", body[:4])[0]
            else:
                g["opt"].append({"kind": "k%d" % k, "val": None})
            i += ln
        return g

    @staticmethod
    def describe(g, expected):
        s = flag_str(g["flags"])
        for k in ("seq", "ack", "win"):
            if not expected or k in g:
                s += " %s=%d" % (k, g[k])
        s += " len=%d opt=" % g["len"]
        parts = []
        for o in g["opt"] or []:
            v = o["val"]
            if o["kind"] == "sack" and v:
                parts.append("sack:" + "/".join("%d-%d" % b for b in v))
            elif v is not None and o["kind"] in ("mss", "ws"):
                parts.append("%s:%d" % (o["kind"], v))
            else:
                parts.append(o["kind"])
        return s + ",".join(parts)

    def opts_match(self, exp, got):
        real = [o for o in exp if o["kind"] not in ("nop", "eol")]
        if len(real) != len(got):
            return False
        for e in real:
            g = [o for o in got if o["kind"] == e["kind"]]
            if not g:
                return False
            if e["val"] is not None and e["kind"] in ("mss", "ws", "sack") and g[0]["val"] != e["val"]:
                return False
        return True

    def check(self, exp, t, at, b):
        g = self.decode(b)
        if g["flags"] & 0x02 and exp["flags"] & 0x02:
            self.isn = g["seq"]
            self.port = g["sport"]
            self.peer_port = g["dport"]
            self.stack_ts = g["tsval"] is not None
        if g["tsval"] is not None:
            self.last_tsval = g["tsval"]
        g["seq"] = (g["seq"] - self.isn) & 0xFFFFFFFF
        g["ack"] = (g["ack"] - PEER_ISN) & 0xFFFFFFFF if g["flags"] & 0x10 else 0
        e, s = self.describe(exp, True), self.describe(g, False)
        if at + exp["tol"] < t:
            raise Fail("expected %s at %.3f, got it early at %.3f" % (e, t, at))
        if at > t + exp["tol"]:
            raise Fail("expected %s at %.3f, got it late at %.3f" % (e, t, at))
        mask = ~(PSH_ANY | 0x08) if exp["flags"] & PSH_ANY else 0xFF
        ok = g["flags"] & mask == exp["flags"] & mask and g["len"] == exp["len"]
        for k in ("seq", "ack", "win"):
            if k in exp and g[k] != exp[k]:
                ok = False
        if exp["opt"] is not None and not self.opts_match(exp["opt"], g["opt"]):
            ok = False
        if not ok:
            raise Fail("expected %s, got %s at %.3f" % (e, s, at))

    # ---- socket calls ----
    def call(self, toks):
        want = None
        if len(toks) >= 2 and toks[-2] == "=":
            want = toks[-1]
            toks = toks[:-2]
        c, name = toks[0], toks[1]
        try:
            rc = self.do_call(c, name, toks, want)
        except OSError as e:
            rc = -e.errno
        if c in ("getsockopt", "events"):
            return
        if want is None:
            exp = rc if c == "connect" and rc == -errno.EINPROGRESS else self.default
        else:
            v, is_errno = parse_value(want)
            exp = -v if is_errno else v
        if rc != exp:
            raise Fail("%s returned %d, expected %d" % (c, rc, exp))

    def do_call(self, c, name, toks, want):
        self.default = 0
        if c == "socket":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            self.socks[name] = s
            return 0
        if c == "accept":
            self.socks[toks[2]] = self.socks[name].accept()[0]
            self.socks[toks[2]].setblocking(False)
            return 0
        s = self.socks.get(name)
        if s is None:
            raise Fail("no socket %r" % name)
        if c == "bind":
            self.port = int(toks[2])
            s.bind((IP_US, self.port))
        elif c == "listen":
            s.listen(int(toks[2]))
        elif c == "connect":
            return s.connect_ex((IP_PEER, int(toks[2]))) * -1
        elif c == "write":
            n = int(toks[2])
            self.default = n
            flags = MSG_MORE if len(toks) > 3 and toks[3] == "more" else 0
            return s.send(b"y" * n, flags)
        elif c == "read":
            n = int(toks[2])
            self.default = n
            return len(s.recv(n))
        elif c == "shutdown":
            s.shutdown({"rd": socket.SHUT_RD, "wr": socket.SHUT_WR, "rdwr": socket.SHUT_RDWR}[toks[2]])
        elif c == "close":
            s.close()
            del self.socks[name]
        elif c == "setsockopt":
            level, opt = SOCKOPTS[toks[2]]
            vals = [int(v, 0) for v in toks[3].split(",")]
            s.setsockopt(level, opt, struct.pack("%di" % len(vals), *vals))
        elif c == "getsockopt":
            level, opt = SOCKOPTS[toks[2]]
            v = s.getsockopt(level, opt)
            if want is not None and v != parse_value(want)[0]:
                raise Fail("getsockopt %s gave %d, expected %s" % (toks[2], v, want))
        elif c == "events":
            p = select.poll()
            p.register(s, 0xFFFF)
            ev = dict(p.poll(0)).get(s.fileno(), 0) & sum(EVENTS.values())
            w = 0
            for t in (want or "").split("|"):
                w |= EVENTS.get(t, 0)
            if ev != w:
                raise Fail("events 0x%x, expected 0x%x" % (ev, w))
        else:
            raise Fail("unknown call %r" % c)
        return 0

    def sysctl(self, name, value):
        path = "/proc/sys/" + name.replace(".", "/")
        with open(path, "w") as f:
            f.write(value.replace(",", "\t"))

    # ---- one line ----
    def line(self, toks):
        rel = toks[0].startswith("+")
        t = float(toks[0][1:] if rel else toks[0]) + (self.prev_t if rel else 0)
        self.prev_t = t
        if len(toks) < 2:
            return
        if toks[1] == ">":
            exp = parse_seg(toks[2:])
            if not self.queue:
                self.drain(t + exp["tol"])
            if not self.queue:
                raise Fail("expected %s at %.3f, nothing was sent" % (self.describe(exp, True), t))
            at, b = self.queue.pop(0)
            self.check(exp, t, at, b)
            return
        while self.now() < t:
            if not self.queue:
                self.drain(t)
            if not RECORD:
                break
            self.queue = []
        if self.queue:
            at, b = self.queue[0]
            g = self.decode(b)
            g["seq"] = (g["seq"] - self.isn) & 0xFFFFFFFF
            g["ack"] = (g["ack"] - PEER_ISN) & 0xFFFFFFFF
            raise Fail("unexpected %s at %.3f" % (self.describe(g, False), at))
        if toks[1] == "<":
            self.inject(parse_seg(toks[2:]))
        elif toks[1] == "sysctl":
            self.sysctl(toks[2], toks[3])
        else:
            self.call(toks[1:])


def run_one(path):
    r = Run(path)
    lineno = 0
    try:
        r.setup()
        r.t0 = time.monotonic()
        with open(path) as f:
            for lineno, raw in enumerate(f, 1):
                toks = raw.split("#", 1)[0].split()
                if toks:
                    r.line(toks)
    except (Fail, OSError, KeyError, ValueError) as e:
        sys.stderr.write("%s:%d: %s\n" % (path, lineno, e))
        return False
    return True


def main():
    args = sys.argv[1:]
    jobs = 4
    if args[:1] == ["-j"]:
        jobs, args = int(args[1]), args[2:]
    if os.geteuid() != 0:
        sys.exit("wire_kernel.py: needs root for a network namespace and a tun device")
    pending, running, failed, tries = list(args), {}, [], {}
    while pending or running:
        while pending and len(running) < jobs:
            p = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                os._exit(0 if run_one(p) else 1)
            running[pid] = p
        pid, status = os.wait()
        p = running.pop(pid)
        tries[p] = tries.get(p, 0) + 1
        if status == 0:
            print("PASS %s" % p)
        elif tries[p] < 3:
            print("RETRY %s" % p)
            pending.append(p)
        else:
            print("FAIL %s" % p)
            failed.append(p)
    print("wire_kernel: %d of %d scripts passed on Linux %s" % (len(args) - len(failed), len(args),
                                                             os.uname().release))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
