#!/usr/bin/env bash
# A kernel peer whose MTU (9000) is larger than ustack's (the most DPDK
# 22.11's net_tap sends with is 1504) is still served: its 9000-byte frames
# arrive whole (no rx errors), UDP and TCP keep their bytes both ways, and
# every frame ustack sent carries right checksums. With the port verifying
# receive checksums, a frame with a bad IPv4, UDP or TCP checksum is still
# dropped and counted.
. "$(dirname "$0")/lib.sh"

if "$UST_BIN" --lock "$WORK/x.lock" --ctl "$WORK/x.sock" --vdev "net_tap0,iface=${IF}x" \
	--ip "$UST_IP/24" --mtu 9000 >"$WORK/mtu.txt" 2>&1; then
	fail "--mtu 9000 on net_tap started: $(cat "$WORK/mtu.txt")"
fi
grep -q '^ustackd: --mtu 9000: port 0 (net_tap) takes an MTU from [0-9]* to 1504' "$WORK/mtu.txt" ||
	fail "--mtu 9000: no line naming the port's maximum: $(cat "$WORK/mtu.txt")"
echo "--mtu 9000 on net_tap: $(head -1 "$WORK/mtu.txt")"

ust_up --services udp-echo,tcp-echo
grep -q '^ustackd: port 0 (net_tap): MTU 1500 (at most 1504), receives frames up to 9022 bytes.*rx checksums verified by the port' \
	"$WORK/ustackd.log" || fail "port line: $(grep 'port 0' "$WORK/ustackd.log")"
ip -n "$NS" link set "$IF" mtu 9000
cap_start

in_ns /usr/bin/python3 - "$UST_IP" <<'PY' || fail "UDP with a 9000-byte peer MTU"
import os, socket, sys
ip = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: one frame each
s.settimeout(5)
for size in (1473, 4000, 8972):
    msg = os.urandom(size)
    s.sendto(msg, (ip, 7))
    data, _ = s.recvfrom(70000)
    assert data == msg, f"echo of {size} bytes came back different"
print("udp: 1473, 4000, 8972 bytes sent unfragmented, echoed intact")
PY
in_ns python3 "$(dirname "$0")/tcp_peer.py" echo "$UST_IP" 7 4000000 || fail "TCP echo"

# Frames ustack must drop: its MAC, built by hand on the peer's side.
in_ns /usr/bin/python3 - "$IF" "$UST_MAC" "$PEER_IP" "$UST_IP" <<'PY' || fail "bad-checksum frames"
import socket, struct, sys
ifname, mac, src, dst = sys.argv[1:]

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

sa, da = socket.inet_aton(src), socket.inet_aton(dst)

def frame(proto, l4, bad_ip=False):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, sa, da)
    c = csum(ip) ^ (0x5555 if bad_ip else 0)
    ip = ip[:10] + struct.pack("!H", c) + ip[12:]
    eth = bytes.fromhex(mac.replace(":", "")) + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + l4

def udp(good):
    body = b"x" * 100
    h = struct.pack("!HHHH", 40000, 7, 8 + len(body), 0)
    c = csum(sa + da + struct.pack("!BBH", 0, 17, 8 + len(body)) + h + body)
    return h[:6] + struct.pack("!H", c if good else c ^ 0x00ff) + body

def tcp():
    h = struct.pack("!HHIIBBHHH", 40001, 7, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    c = csum(sa + da + struct.pack("!BBH", 0, 6, 20) + h)
    return h[:16] + struct.pack("!H", c ^ 0x0f0f) + h[18:]

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for f in (frame(17, udp(True), bad_ip=True), frame(17, udp(False)), frame(17, udp(False)),
          frame(6, tcp()), frame(6, tcp()), frame(6, tcp())):
    s.send(f)
print("sent 1 bad IPv4, 2 bad UDP, 3 bad TCP checksums")
PY
# The tap keeps order: once this echo is back, the bad frames were handled.
in_ns /usr/bin/python3 - "$UST_IP" <<'PY' || fail "UDP echo after the bad frames"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"after", (sys.argv[1], 7))
assert s.recvfrom(100)[0] == b"after"
PY

cap_stop
big=$(tshark -r "$WORK/cap.pcap" -Y "ip.src == $PEER_IP && frame.len >= 9000" 2>/dev/null | wc -l)
[ "$big" -ge 1 ] || fail "no frame of 9000 bytes or more from the peer in the capture"
echo "capture: $big frames of 9000+ bytes from the peer"
checks="-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE"
# shellcheck disable=SC2086
bad=$(tshark -r "$WORK/cap.pcap" $checks -Y "ip.src == $UST_IP && (ip.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\")" 2>/dev/null | wc -l)
# shellcheck disable=SC2086
good=$(tshark -r "$WORK/cap.pcap" $checks -Y "ip.src == $UST_IP && ip.checksum.status == \"Good\" && (udp.checksum.status == \"Good\" || tcp.checksum.status == \"Good\")" 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] && [ "$good" -ge 1000 ] || fail "checksums of ustack's frames: $good good, $bad bad"
echo "capture: $good frames from ustack with right IPv4 and TCP/UDP checksums, none wrong"

ust_stop
[ "$(counter 'drop: bad IPv4 header checksum')" -eq 1 ] || fail "bad IPv4 checksum counter: $(counter 'drop: bad IPv4 header checksum')"
[ "$(counter 'drop: bad UDP checksum')" -eq 2 ] || fail "bad UDP checksum counter: $(counter 'drop: bad UDP checksum')"
[ "$(counter 'drop: bad TCP checksum')" -eq 3 ] || fail "bad TCP checksum counter: $(counter 'drop: bad TCP checksum')"
echo "bad checksums: dropped and counted (1 IPv4, 2 UDP, 3 TCP)"
rxerr=$(sed -n 's/.*port 0: .* rx errors \([0-9]*\),.*/\1/p' "$WORK/ustackd.log")
[ "${rxerr:-x}" = 0 ] || fail "port rx errors: '${rxerr:-none printed}'"
echo "port: no rx errors"
echo PASS
