#!/usr/bin/env python3
"""One DNS query for a name's A records over UDP or TCP (python's own
sockets: under libustack they are ustack's); prints the addresses, one a
line. Usage: dnsq.py SERVER PORT NAME udp|tcp"""
import socket
import struct
import sys

server, port, name, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
qname = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
query = struct.pack(">HHHHHH", 0x5354, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(query, (server, port))
    reply = s.recv(4096)
else:
    s = socket.create_connection((server, port), timeout=5)
    s.sendall(struct.pack(">H", len(query)) + query)
    data = b""
    while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
        more = s.recv(4096)
        if not more:
            sys.exit("the server closed before the whole answer")
        data += more
    reply = data[2:]
ident, flags, qd, an = struct.unpack(">HHHH", reply[:8])
if ident != 0x5354 or not flags & 0x8000 or flags & 0xF:
    sys.exit("bad reply header: id %#x flags %#x" % (ident, flags))
pos = 12 + len(qname) + 4
for _ in range(an):
    while reply[pos] != 0 and reply[pos] < 0xC0:
        pos += reply[pos] + 1
    pos += 2 if reply[pos] >= 0xC0 else 1
    rtype, _, _, rdlen = struct.unpack(">HHIH", reply[pos:pos + 10])
    pos += 10
    if rtype == 1 and rdlen == 4:
        print(socket.inet_ntoa(reply[pos:pos + 4]))
    pos += rdlen
