#!/usr/bin/env bash
# The kernel meets ustack over net_tap: ping, ARP learning, UDP echo, ICMP
# port unreachable seen as ECONNREFUSED, clean capture, clean shutdown.
. "$(dirname "$0")/lib.sh"

ust_up --udp-echo
cap_start

in_ns ping -c 3 -W 2 -i 0.2 "$UST_IP" >"$WORK/ping.txt" || fail "ping: $(cat "$WORK/ping.txt")"
grep -q '3 received' "$WORK/ping.txt" || fail "ping lost replies: $(cat "$WORK/ping.txt")"
echo "ping: 3/3 replies"

neigh=$(in_ns ip neigh show "$UST_IP")
echo "$neigh" | grep -qi "lladdr $UST_MAC" || fail "kernel ARP table has '$neigh', expected $UST_MAC"
echo "arp: kernel learned $UST_MAC"

in_ns /usr/bin/python3 - "$UST_IP" <<'PY' || fail "UDP checks failed"
import os, socket, sys
ip = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for size in (1, 512, 1472, 8000, 65000):
    msg = os.urandom(size)
    s.sendto(msg, (ip, 7))
    data, peer = s.recvfrom(70000)
    assert data == msg, f"echo of {size} bytes came back different"
    assert peer == (ip, 7), peer
print("udp echo: 1, 512, 1472, 8000 (fragmented), 65000 bytes intact")
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(3)
c.connect((ip, 9999))
c.send(b"anyone?")
try:
    c.recv(100)
    sys.exit("closed port answered")
except ConnectionRefusedError:
    print("closed port: ECONNREFUSED")
PY

cap_stop
cap_check_clean
tshark -r "$WORK/cap.pcap" -Y 'icmp.type == 3 && icmp.code == 3' 2>/dev/null | grep -q . ||
	fail "no ICMP port unreachable in the capture"

ust_stop
[ "$(counter 'ICMP echo replies sent')" -ge 3 ] || fail "echo reply counter"
[ "$(counter 'IPv4 datagrams reassembled')" -ge 2 ] || fail "reassembly counter"
ip link show "$IF" >/dev/null 2>&1 && fail "tap still present after shutdown"
ip -n "$NS" link show "$IF" >/dev/null 2>&1 && fail "tap still present in $NS after shutdown"
echo "shutdown: clean, tap removed"
echo PASS
