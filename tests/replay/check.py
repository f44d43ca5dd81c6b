#!/usr/bin/python3
"""check.py REPLAY FIXTURES CASE: replay CASE.in.pcap and compare.

The stack's frames must equal the expected ones byte for byte, except the IP
identification (the stack picks it from its seed) and the IP header checksum
that covers it; the counters in CASE.counters must be reported exactly.
"""
import os
import subprocess
import sys
import tempfile

from scapy.all import IP, Ether, rdpcap


def normalise(frame):
    b = bytearray(bytes(frame))
    if len(b) >= 34 and b[12:14] == b"\x08\x00":
        b[18:20] = b"\x00\x00"  # IP id
        b[24:26] = b"\x00\x00"  # IP checksum
    return bytes(b)


def main():
    replay, fixtures, case = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.pcap")
        r = subprocess.run([replay, os.path.join(fixtures, case + ".in.pcap"), out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"replay failed ({r.returncode}): {r.stderr}")
        got = [normalise(p) for p in rdpcap(out)] if os.path.getsize(out) > 24 else []
    exp = [normalise(p) for p in rdpcap(os.path.join(fixtures, case + ".expected.pcap"))] \
        if os.path.getsize(os.path.join(fixtures, case + ".expected.pcap")) > 24 else []
    if len(got) != len(exp):
        sys.exit(f"{case}: {len(got)} frames sent, expected {len(exp)}")
    for i, (g, e) in enumerate(zip(got, exp)):
        if g != e:
            print("got:"); Ether(g).show()
            print("expected:"); Ether(e).show()
            sys.exit(f"{case}: frame {i} differs")
    counters = dict(line.split("=") for line in r.stdout.split())
    for line in open(os.path.join(fixtures, case + ".counters")):
        k, v = line.strip().split("=")
        if counters.get(k) != v:
            sys.exit(f"{case}: counter {k}={counters.get(k)}, expected {v}\nall: {counters}")
    print(f"{case}: {len(got)} frames as expected; counters {r.stdout.split()}")


if __name__ == "__main__":
    main()
