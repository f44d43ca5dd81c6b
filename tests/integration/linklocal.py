"""Link-local addresses and scope ids, run the same way on the kernel (in the
peer's namespace, on its tap) and on ustack (under libustack.so, on ustackd's
port): each side prints what it sees with its own interface index standing
for "mine", so the two outputs must be equal.

usage: linklocal.py serve|client IFNAME OWN_LL PEER_LL READY_FILE
  serve   UDP on [::]:5301 and TCP on [own link-local%IFNAME]:5302; tells
          what a link-local peer looks like (recvmsg, IPV6_PKTINFO, accept,
          getpeername, getsockname), then answers
  client  the scope id checks of bind, connect and sendto, then a datagram
          and a connection to the server at PEER_LL%IFNAME and a ping socket
The interface's index comes from if_nametoindex, and if_nameindex and
getifaddrs (with OWN_LL and its scope id) must agree."""
import ctypes
import errno
import socket
import struct
import sys
import time

UNKNOWN = 0x7FFFFFF0  # an interface index neither side has
role, ifname, mine, peer_ll, ready = sys.argv[1:6]


def say(name, value):
    print("%s: %s" % (name, value), flush=True)


def err(name, fn):
    try:
        fn()
        say(name, "ok")
    except OSError as e:
        say(name, errno.errorcode.get(e.errno, e.errno))


class Sockaddr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("data", ctypes.c_ubyte * 26)]


class Ifaddrs(ctypes.Structure):
    pass


Ifaddrs._fields_ = [("next", ctypes.POINTER(Ifaddrs)), ("name", ctypes.c_char_p),
                    ("flags", ctypes.c_uint), ("addr", ctypes.POINTER(Sockaddr)),
                    ("netmask", ctypes.POINTER(Sockaddr)), ("ifu", ctypes.POINTER(Sockaddr)),
                    ("data", ctypes.c_void_p)]


def link_locals(name):
    """The interface's link-local addresses and their scope ids, by getifaddrs."""
    libc = ctypes.CDLL(None)  # the process's symbols: libustack.so's first
    libc.getifaddrs.argtypes = [ctypes.POINTER(ctypes.POINTER(Ifaddrs))]
    libc.freeifaddrs.argtypes = [ctypes.POINTER(Ifaddrs)]
    head = ctypes.POINTER(Ifaddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        sys.exit("getifaddrs failed")
    out = []
    p = head
    while p:
        i = p.contents
        if i.name.decode() == name and i.addr and i.addr.contents.family == socket.AF_INET6:
            raw = bytes(i.addr.contents.data)
            addr = socket.inet_ntop(socket.AF_INET6, raw[6:22])
            (scope,) = struct.unpack("I", raw[22:26])
            if addr.startswith("fe80:"):
                out.append((addr, scope))
        p = i.next
    libc.freeifaddrs(head)
    return out


idx = socket.if_nametoindex(ifname)
say("indextoname_roundtrip", socket.if_indextoname(idx) == ifname)
say("in_if_nameindex", (idx, ifname) in socket.if_nameindex())
say("getifaddrs_own_link_local", (mine, idx) in link_locals(ifname))


def scope(a):
    return "mine" if a[3] == idx else a[3]


if role == "serve":
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    u.bind(("::", 5301))
    lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((mine, 5302, 0, idx))
    say("listener_name_scope", scope(lst.getsockname()))
    lst.listen(1)
    open(ready, "w").close()
    u.settimeout(60)
    data, anc, _, frm = u.recvmsg(100, 100)
    say("udp_data", data.decode())
    say("udp_from_is_peer", frm[0] == peer_ll)
    say("udp_from_scope", scope(frm))
    for level, kind, d in anc:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            dst = socket.inet_ntop(socket.AF_INET6, d[:16])
            (ifi,) = struct.unpack("I", d[16:20])
            say("pktinfo_dst_is_mine", dst == mine)
            say("pktinfo_ifindex", "mine" if ifi == idx else ifi)
    u.sendto(b"back", frm)
    lst.settimeout(60)
    c, peer = lst.accept()
    say("accept_peer_is_peer", peer[0] == peer_ll)
    say("accept_peer_scope", scope(peer))
    say("getpeername_scope", scope(c.getpeername()))
    say("getsockname_is_mine", c.getsockname()[0] == mine)
    say("getsockname_scope", scope(c.getsockname()))
    c.sendall(c.recv(100))
    c.close()
    sys.exit(0)

# client
t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
err("bind_own_ll_unscoped", lambda: t.bind((mine, 0)))
err("bind_own_ll_unknown_scope", lambda: t.bind((mine, 0, 0, UNKNOWN)))
err("bind_own_ll_scope_lo", lambda: t.bind((mine, 0, 0, 1)))
t.close()
t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
err("connect_tcp_unscoped", lambda: t.connect((peer_ll, 5302)))
t.close()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
err("connect_udp_unscoped", lambda: u.connect((peer_ll, 5301)))
u.close()
deadline = time.time() + 60
while True:
    try:
        open(ready).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("the server did not come up")
        time.sleep(0.1)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.settimeout(30)
u.sendto(b"hello", (peer_ll, 5301, 0, idx))
say("udp_local_scope", scope(u.getsockname()))
data, frm = u.recvfrom(100)
say("udp_reply", data.decode())
say("udp_reply_from_scope", scope(frm))
u.close()
t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t.settimeout(30)
t.connect((peer_ll, 5302, 0, idx))
say("connect_peer_scope", scope(t.getpeername()))
say("connect_name_is_mine", t.getsockname()[0] == mine)
say("connect_name_scope", scope(t.getsockname()))
t.sendall(b"echo me")
say("tcp_echo", t.recv(100).decode())
t.close()
p = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
p.settimeout(30)
echo = b"\x80\x00\x00\x00\x00\x00\x00\x01ping"
err("ping_unscoped", lambda: p.sendto(echo, (peer_ll, 0)))
p.sendto(echo, (peer_ll, 0, 0, idx))
reply, frm = p.recvfrom(100)
say("ping_reply_type", reply[0])
say("ping_reply_from_scope", scope(frm))
