#!/usr/bin/env bash
# The Linux kernel's TCP against ustack over net_tap: the kernel connects to
# ustackd's echo/chargen/discard, 100 MB through echo each way with SHA-256
# equal; a capture of a short exchange shows the negotiated options and no bad
# checksum or malformed segment; a connection to a closed port is refused.
. "$(dirname "$0")/lib.sh"
PEER="/usr/bin/python3 $(dirname "$0")/tcp_peer.py"

ust_up --services all
cap_start "tcp"
in_ns $PEER echo "$UST_IP" 7 1000000 || fail "echo of 1 MB"
in_ns $PEER chargen "$UST_IP" 19 10000 || fail "chargen"
cap_stop
cap_check_clean

# SYN-ACK from ustack: MSS 1460 (clamped to the 1500 MTU), the window scale
# Linux derives from the host's largest buffer (ustackd took tcp_rmem and
# rmem_max from it), SACK permitted, timestamps; the kernel's SYN asked for
# all of them.
synack=$(tshark -r "$WORK/cap.pcap" -Y "tcp.flags.syn==1 && tcp.flags.ack==1 && ip.src==$UST_IP" \
	-T fields -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm \
	-e tcp.options.timestamp.tsval 2>/dev/null | sed -n 1p)
echo "ustack SYN-ACK options (mss, wscale, sack_perm, tsval): $synack"
read -r mss ws sackp tsval <<<"$synack"
[ "$mss" = 1460 ] || fail "SYN-ACK MSS is '$mss', expected 1460"
rmax=$(awk '{print $3}' /proc/sys/net/ipv4/tcp_rmem)
[ "$(cat /proc/sys/net/core/rmem_max)" -gt "$rmax" ] && rmax=$(cat /proc/sys/net/core/rmem_max)
want_ws=$(wscale_for "$rmax")
[ "$ws" = "$want_ws" ] || fail "SYN-ACK window scale is '$ws', expected $want_ws"
[ -n "$sackp" ] || fail "SYN-ACK lacks SACK permitted"
[ -n "$tsval" ] || fail "SYN-ACK lacks timestamps"
# Data segments from ustack carry timestamps and fit the MSS.
big=$(tshark -r "$WORK/cap.pcap" -Y "ip.src==$UST_IP && tcp.len > 1448" 2>/dev/null | wc -l)
[ "$big" -eq 0 ] || fail "$big segments from ustack exceed MSS minus timestamp option"

in_ns /usr/bin/python3 - "$UST_IP" <<'PY' || fail "connect to a closed port"
import socket, sys
try:
    socket.create_connection((sys.argv[1], 4444), timeout=5)
    sys.exit("connected to a closed port")
except ConnectionRefusedError:
    print("closed port: ECONNREFUSED (ustack answered the SYN with RST)")
PY

in_ns $PEER echo "$UST_IP" 7 100000000 || fail "echo of 100 MB"
ust_stop
[ "$(counter 'TCP passive opens')" -ge 3 ] || fail "passive open counter"
echo PASS
