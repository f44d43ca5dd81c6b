#!/usr/bin/env bash
# README command 1: install what is missing, build, then run ustackd on a
# net_tap port with the Linux kernel as its peer in a network namespace, talk
# to it from the kernel side, and print a one-screen summary.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null

export UST_BIN=$PWD/build/src/dpdk/ustackd UST_TEST_NAME=demo
. tests/integration/lib.sh

echo "== ustackd on net_tap ($IF), kernel peer in netns $NS ($PEER_IP), ustack at $UST_IP"
ust_up --services all
sed -n 's/^ustackd: up/ustackd up:/p' "$WORK/ustackd.log"
cap_start

echo "== kernel: ping -c 3 $UST_IP"
in_ns ping -c 3 -i 0.2 -W 2 "$UST_IP" | sed -n 's/^/   /; /bytes from/p; /packet loss/p'
echo "== kernel ARP table: $(in_ns ip neigh show "$UST_IP")"

echo "== kernel: UDP to port 7 (echo) and to a closed port"
in_ns /usr/bin/python3 - "$UST_IP" <<'PY'
import socket, sys
ip = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"hello from the kernel", (ip, 7))
print("   echo reply:", s.recvfrom(100)[0].decode())
big = bytes(range(256)) * 20
s.sendto(big, (ip, 7))
print("   5120-byte datagram (4 fragments each way) intact:", s.recvfrom(70000)[0] == big)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(3)
c.connect((ip, 9999))
c.send(b"x")
try:
    c.recv(10)
except ConnectionRefusedError as e:
    print("   closed port:", e)
PY

echo "== kernel: TCP to ustack's echo (port 7) and chargen (port 19)"
in_ns /usr/bin/python3 tests/integration/tcp_peer.py echo "$UST_IP" 7 1000000 | sed 's/^/   /'
in_ns /usr/bin/python3 tests/integration/tcp_peer.py chargen "$UST_IP" 19 740 | sed 's/^/   /'

echo "== unmodified programs on ustack (ustack run -- PROGRAM, i.e. LD_PRELOAD=libustack.so)"
mkdir -p "$WORK/www"
head -c 1000000 /dev/urandom >"$WORK/www/blob"
sum=$(sha256sum <"$WORK/www/blob" | cut -c1-16)
build/tools/ustack --ctl "$WORK/ctl.sock" run -- /usr/bin/python3 -m http.server 8080 \
	--bind "$UST_IP" -d "$WORK/www" >/dev/null 2>&1 &
HTTPD=$!
for _ in $(seq 50); do
	build/tools/ustack --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*:8080 " && break
	sleep 0.1
done
got=$(in_ns curl -sS --max-time 10 "http://$UST_IP:8080/blob" | sha256sum | cut -c1-16)
echo "   kernel curl <- python3 http.server on ustack: 1 MB, sha256 $got (sent $sum)"
in_ns /usr/bin/python3 -m http.server 8081 --bind "$PEER_IP" -d "$WORK/www" >/dev/null 2>&1 &
KHTTPD=$!
sleep 0.5
got=$(build/tools/ustack --ctl "$WORK/ctl.sock" run -- curl -sS --max-time 10 \
	"http://$PEER_IP:8081/blob" | sha256sum | cut -c1-16)
echo "   curl on ustack <- kernel http.server: 1 MB, sha256 $got"
echo "   ustack stat while the server runs:"
build/tools/ustack --ctl "$WORK/ctl.sock" stat | sed -n '1p; /:8080 /p' | sed 's/^/     /'
kill "$HTTPD" "$KHTTPD" 2>/dev/null || true
wait "$HTTPD" "$KHTTPD" 2>/dev/null || true

cap_stop
echo "== on the wire (tshark, kernel side of the tap):"
tshark -r "$WORK/cap.pcap" -c 14 2>/dev/null | sed 's/^/   /'
echo "   ... ($(tshark -r "$WORK/cap.pcap" 2>/dev/null | wc -l) frames in all)"
cap_check_clean | sed 's/^/   /'

ust_stop
echo "== ustackd's counters at exit:"
sed -n '/^ustackd counters:/,$p' "$WORK/ustackd.log" | tail -n +2
