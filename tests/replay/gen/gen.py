#!/usr/bin/python3
"""Generate the replay fixtures: for each case an input capture (what the
kernel-side peer sends), the capture the stack must answer with, and the
counters it must report. Run with Debian's python3 (python3-scapy):

    /usr/bin/python3 tests/replay/gen/gen.py tests/replay/fixtures

The expected replies are written from the RFCs, not from ustack's output.
"""
import os
import sys

from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, fragment, wrpcap

US_MAC, US_IP = "02:00:00:00:00:02", "198.18.0.2"
PEER_MAC, PEER_IP = "02:00:00:00:00:01", "198.18.0.1"
BCAST = "ff:ff:ff:ff:ff:ff"


def stamp(pkts, t0=1000.0, step=0.001):
    for i, p in enumerate(pkts):
        p.time = t0 + i * step
    return pkts


def arp_req():
    return Ether(src=PEER_MAC, dst=BCAST) / ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP,
                                                hwdst="00:00:00:00:00:00", pdst=US_IP)


def arp_reply():
    # RFC 826 reply, padded to the 60-byte Ethernet minimum as the kernel does.
    p = Ether(src=US_MAC, dst=PEER_MAC) / ARP(op=2, hwsrc=US_MAC, psrc=US_IP, hwdst=PEER_MAC,
                                              pdst=PEER_IP)
    return Ether(bytes(p) + b"\x00" * (60 - len(p)))


def to_us(l3):
    return Ether(src=PEER_MAC, dst=US_MAC) / l3


def from_us(l3):
    return Ether(src=US_MAC, dst=PEER_MAC) / l3


def cases():
    payload = bytes(range(56))
    yield "arp_request", [arp_req()], [arp_reply()], {"stat.ARP_REQ_IN": 1, "stat.ARP_REPLY_OUT": 1}

    echo = to_us(IP(src=PEER_IP, dst=US_IP, id=1) / ICMP(type=8, id=0x4242, seq=1) / Raw(payload))
    reply = from_us(IP(src=US_IP, dst=PEER_IP, id=0) / ICMP(type=0, id=0x4242, seq=1) / Raw(payload))
    yield "ping", [arp_req(), echo], [arp_reply(), reply], {"stat.ICMP_ECHO_REPLY_OUT": 1}

    big = bytes(i % 251 for i in range(3000))
    req = IP(src=PEER_IP, dst=US_IP, id=7) / ICMP(type=8, id=9, seq=2) / Raw(big)
    rep = IP(src=US_IP, dst=PEER_IP, id=0) / ICMP(type=0, id=9, seq=2) / Raw(big)
    yield ("frag_ping", [arp_req()] + [to_us(f) for f in fragment(req, fragsize=1480)],
           [arp_reply()] + [from_us(f) for f in fragment(rep, fragsize=1480)],
           {"stat.IP_REASM_OK": 1, "stat.IP_FRAG_OUT": 3})

    dgram = IP(src=PEER_IP, dst=US_IP, id=3) / UDP(sport=40000, dport=9999) / Raw(b"anyone?")
    quote = bytes(dgram)
    unreach = from_us(IP(src=US_IP, dst=PEER_IP, id=0, tos=0xc0) / ICMP(type=3, code=3) / Raw(quote))
    yield "udp_closed", [arp_req(), to_us(dgram)], [arp_reply(), unreach], \
        {"drop.UDP_NO_PORT": 1, "stat.ICMP_UNREACH_OUT": 1}

    # RFC 9293 3.10.7.1: a SYN to a closed port gets <SEQ=0><ACK=ISN+1><CTL=RST,ACK>;
    # an ACK gets <SEQ=SEG.ACK><CTL=RST>; a RST gets nothing.
    syn = to_us(IP(src=PEER_IP, dst=US_IP, id=4) / TCP(sport=40000, dport=80, seq=1000, flags="S"))
    ack = to_us(IP(src=PEER_IP, dst=US_IP, id=5) / TCP(sport=40001, dport=80, seq=7, ack=5555, flags="A"))
    rst = to_us(IP(src=PEER_IP, dst=US_IP, id=6) / TCP(sport=40002, dport=80, seq=9, flags="R"))
    rst_syn = from_us(IP(src=US_IP, dst=PEER_IP, id=0, flags="DF") /
                      TCP(sport=80, dport=40000, seq=0, ack=1001, flags="RA", window=0))
    rst_ack = from_us(IP(src=US_IP, dst=PEER_IP, id=0, flags="DF") /
                      TCP(sport=80, dport=40001, seq=5555, ack=0, flags="R", window=0))
    yield "tcp_closed", [arp_req(), syn, ack, rst], [arp_reply(), rst_syn, rst_ack], \
        {"drop.TCP_NO_CONN": 3, "stat.TCP_RST_OUT": 2}

    bad = bytearray(bytes(to_us(IP(src=PEER_IP, dst=US_IP) / UDP(sport=1, dport=7) / Raw(b"x"))))
    bad[14 + 10] ^= 0xff  # IPv4 header checksum
    yield "bad_ip_csum", [Ether(bytes(bad))], [], {"drop.IP_CSUM": 1}

    # Every prefix of a valid echo request: dropped and counted, never a reply.
    whole = bytes(echo)
    # 1-13 bytes: no Ethernet header; 14-33: no whole IP header; 34-41: the IP
    # total length runs past the frame. Then valid IP carrying 0-7 bytes of ICMP.
    cut = [Ether(whole[:n]) if n >= 14 else Raw(whole[:n]) for n in range(1, len(whole) - 56)]
    icmp = bytes(ICMP(type=8, id=1, seq=1))
    cut += [to_us(IP(src=PEER_IP, dst=US_IP) / Raw(icmp[:k])) for k in range(0, 8)]
    for p in cut[-8:]:
        p[IP].proto = 1
    yield "truncated", cut, [], {"drop.ETH_SHORT": 13, "drop.IP_SHORT": 20, "drop.IP_TOTLEN": 8,
                                 "drop.ICMP_SHORT": 8}

    udp_bad = bytearray(bytes(to_us(IP(src=PEER_IP, dst=US_IP) / UDP(sport=5, dport=7) / Raw(b"hello"))))
    udp_bad[-1] ^= 1  # payload change breaks the UDP checksum
    yield "bad_udp_csum", [Ether(bytes(udp_bad))], [], {"drop.UDP_CSUM": 1}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, inp, exp, counters in cases():
        wrpcap(os.path.join(out, name + ".in.pcap"), stamp(inp))
        wrpcap(os.path.join(out, name + ".expected.pcap"), stamp(exp))
        with open(os.path.join(out, name + ".counters"), "w") as f:
            for k, v in counters.items():
                f.write(f"{k}={v}\n")


if __name__ == "__main__":
    main()
