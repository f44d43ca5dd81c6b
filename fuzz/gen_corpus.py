#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (run from the repository root).

stack/corpus: records [mode][len BE16][frame] aimed at the live connection
(mode bits let the harness fix headers and make seq/ack relative); wire/corpus:
plain frames for the parsers.
"""
import os
import struct

def tcp_frame(flags, payload=b"", opts=b""):
    eth = b"\x00" * 12 + b"\x08\x00"
    hl = 20 + len(opts)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + hl + len(payload), 1, 0, 64, 6, 0,
                     bytes(4), bytes(4))
    tcp = struct.pack("!HHIIBBHHH", 0, 0, 0, 0, (hl // 4) << 4, flags, 65535, 0, 0) + opts
    return eth + ip + tcp + payload

def rec(mode, frame):
    return bytes([mode]) + struct.pack("!H", len(frame)) + frame

ACK, PSH, FIN, SYN, RST = 0x10, 0x08, 0x01, 0x02, 0x04
ts = bytes([1, 1, 8, 10]) + struct.pack("!II", 12345, 0)
sack = bytes([1, 1, 5, 10]) + struct.pack("!II", 100, 200)
stack = {
    "data": rec(0x0f, tcp_frame(ACK | PSH, b"hello", ts)),
    "fin": rec(0x0f, tcp_frame(ACK | FIN, b"", ts)),
    "rst": rec(0x0f, tcp_frame(RST)),
    "syn": rec(0x0f, tcp_frame(SYN, b"", bytes([2, 4, 5, 0xb4]))),
    "sack_dup": rec(0x1f, tcp_frame(ACK, b"", sack)) * 3,
    "ooo_then_fill": rec(0x0f, tcp_frame(ACK, b"x" * 100)) + rec(0x2f, tcp_frame(ACK | FIN, b"y" * 50)),
    "raw_udp": rec(0x03, b"\x00" * 12 + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 32, 1, 0, 64, 17, 0, bytes(4), bytes(4)) + struct.pack("!HHHH", 1, 7, 12, 0) + b"ping"),
    "arp": rec(0x01, b"\x00" * 12 + b"\x08\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02\x00\x00\x00\x00\x01", bytes([198, 18, 0, 1]), bytes(6), bytes([198, 18, 0, 2]))),
}
def ip6_frame(next_hdr, payload, hlim=64, dst=bytes(16)):
    eth = b"\x00" * 12 + b"\x86\xdd"
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_hdr, hlim, bytes(16), dst)
    return eth + ip + payload

B6 = bytes.fromhex("20010002000000000000000000000002")
SN_B6 = bytes.fromhex("ff0200000000000000000001ff000002")
frag = lambda off, mf, data: struct.pack("!BBHI", 17, 0, off | mf, 9) + data
stack.update({
    "ip6_echo": rec(0x0b, ip6_frame(58, struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"ping")),
    "ip6_ns": rec(0x09, ip6_frame(58, struct.pack("!BBHI", 135, 0, 0, 0) + B6 + b"\x01\x01\x02\x00\x00\x00\x00\x01", 255, SN_B6)),
    "ip6_frags": rec(0x03, ip6_frame(44, frag(0, 1, struct.pack("!HHHH", 1, 7, 24, 0) + b"a" * 8))) + rec(0x03, ip6_frame(44, frag(16, 0, b"b" * 8))),
    "ip6_chain": rec(0x03, ip6_frame(0, bytes([60, 0, 1, 4, 0, 0, 0, 0, 43, 0, 0x9e, 2, 0, 0, 1, 0, 17, 0, 0, 0, 0, 0, 0, 0]) + struct.pack("!HHHH", 1, 7, 8, 0))),
    # Shorter than the fixed header: the refusal's view was read unset.
    "regress-ip6-short": rec(0x01, ip6_frame(58, b"")[:14 + 20]),
})
wire = {
    "tcp_syn": tcp_frame(SYN, b"", bytes([2, 4, 5, 0xb4, 4, 2, 8, 10]) + bytes(8) + bytes([1, 3, 3, 7]))[14:],
    "ipv4_udp": bytes.fromhex("4500001c0001000040110000c6120001c6120002000100070008000000"),
    "eth_arp": bytes(12) + b"\x08\x06" + bytes(28),
    "ipv6_chain": ip6_frame(0, bytes([60, 0, 1, 4, 0, 0, 0, 0, 43, 0, 0x9e, 2, 0, 0, 1, 0, 17, 0, 0, 0, 0, 0, 0, 0]) + struct.pack("!HHHH", 1, 7, 8, 0))[14:],
    "ipv6_frag": ip6_frame(44, frag(0, 1, b"c" * 16))[14:],
    "nd_ns": struct.pack("!BBHI", 135, 0, 0, 0) + B6 + b"\x01\x01\x02\x00\x00\x00\x00\x01",
    "nd_ra": struct.pack("!BBHIII", 134, 0, 0, 64 << 24 | 1800, 0, 0) + b"\x05\x01\x00\x00" + struct.pack("!I", 1400) + bytes([3, 4, 64, 0xc0]) + bytes(28),
}
def call(op, a=0, b=0):
    return bytes([0x80 | op, a, b])

# stack_calls/corpus: calls on the server end (op bit 4: the client's) mixed
# with frames; ops: 0 send a*16 (b&1: MSG_MORE), 1 recv, 2 shutdown a%3,
# 3 setsockopt (option a, value b), 4 getsockopt, 5 close, 6 wait a*100 ms,
# 7 accept.
stack_calls = {
    "cork_send": call(3, 1, 1) + call(0, 40) + call(0, 3, 1) + call(3, 1, 0) + call(6, 3),
    "client_send_read": call(0x10, 100) + call(1, 255) + call(0, 10) + call(0x11, 255),
    "zero_window": rec(0x0f, tcp_frame(ACK, b"", ts)) + call(0, 200) + call(6, 20),
    "shutdown_fin": call(2, 1) + rec(0x0f, tcp_frame(ACK | FIN, b"", ts)) + call(5) + call(6, 5),
    "opts": b"".join(call(3, i, 7) for i in range(16)) + call(4, 1),
    "sack_recovery": call(0x10, 255) + rec(0x1f, tcp_frame(ACK, b"", sack)) * 3 + call(6, 10),
}
for d, items in (("fuzz/stack/corpus", stack), ("fuzz/wire/corpus", wire), ("fuzz/stack_calls/corpus", stack_calls)):
    os.makedirs(d, exist_ok=True)
    for name, data in items.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
