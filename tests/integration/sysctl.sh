#!/usr/bin/env bash
# Linux's tunables by Linux's names: ustackd starts with the host's values,
# `ustack sysctl` lists them, `ustack sysctl -w` sets one in ustackd alone,
# and a new connection shows it on the wire: with tcp_timestamps at 0 the
# SYN-ACK carries no timestamp option, with 1 it does; a new process sees
# ip_unprivileged_port_start.
. "$(dirname "$0")/lib.sh"
USTACK="$UST_CLI --ctl $WORK/ctl.sock"

ust_up --services tcp-echo

host_ts=$(cat /proc/sys/net/ipv4/tcp_timestamps)
got=$($USTACK sysctl net.ipv4.tcp_timestamps)
[ "$got" = "net.ipv4.tcp_timestamps = $host_ts" ] || fail "ustackd did not take the host's value: '$got'"
host_rmem=$(tr -s ' \t' '\t' </proc/sys/net/ipv4/tcp_rmem)
got=$($USTACK sysctl net.ipv4.tcp_rmem)
[ "$got" = "net.ipv4.tcp_rmem = $host_rmem" ] || fail "tcp_rmem: '$got', the host has '$host_rmem'"
n=$($USTACK sysctl | grep -c ' = ')
[ "$n" -ge 20 ] || fail "ustack sysctl lists $n tunables"
echo "ustack sysctl lists $n tunables, the host's values taken"

# The SYN-ACK of a connection from the kernel peer to the echo service.
synack_tsval() {
	cap_start "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)"
	in_ns python3 -c "
import socket
s = socket.create_connection(('$UST_IP', 7), timeout=5)
s.sendall(b'ping')
assert s.recv(4) == b'ping'
s.close()"
	# A loaded machine may not have let tcpdump write the frame yet.
	for _ in $(seq 100); do
		[ -n "$(tshark -r "$WORK/cap.pcap" 2>/dev/null)" ] && break
		sleep 0.1
	done
	cap_stop
	tshark -r "$WORK/cap.pcap" -Y "ip.src==$UST_IP" -T fields -e tcp.options.timestamp.tsval 2>/dev/null | sed -n 1p
}

$USTACK sysctl -w net.ipv4.tcp_timestamps=1 >/dev/null || fail "sysctl -w tcp_timestamps=1"
[ -n "$(synack_tsval)" ] || fail "tcp_timestamps=1: the SYN-ACK has no timestamp"
got=$($USTACK sysctl -w net.ipv4.tcp_timestamps=0)
[ "$got" = "net.ipv4.tcp_timestamps = 0" ] || fail "sysctl -w answered '$got'"
[ "$(cat /proc/sys/net/ipv4/tcp_timestamps)" = "$host_ts" ] || fail "the host's value changed"
[ -z "$(synack_tsval)" ] || fail "tcp_timestamps=0: the SYN-ACK still has a timestamp"
echo "tcp_timestamps 1 -> 0 in ustackd: the SYN-ACK's timestamp option is gone, the host untouched"

# Errors as sysctl(8) would give them, with a status.
if $USTACK sysctl -w net.ipv4.no_such_thing=1 2>"$WORK/err"; then fail "an unknown name was accepted"; fi
grep -q "unknown name" "$WORK/err" || fail "unknown name: $(cat "$WORK/err")"
if $USTACK sysctl -w net.ipv4.tcp_sack=7 2>"$WORK/err"; then fail "tcp_sack=7 was accepted"; fi
if $USTACK sysctl -w net.ipv4.tcp_congestion_control=bbr 2>"$WORK/err"; then fail "bbr was accepted"; fi
got=$($USTACK sysctl -w net.ipv4.tcp_congestion_control=reno)
[ "$got" = "net.ipv4.tcp_congestion_control = reno" ] || fail "congestion control: '$got'"
# net.ipv4.ip_unprivileged_port_start: which ports a process without
# CAP_NET_BIND_SERVICE may bind (a process started after the change). nobody
# reaches the control socket through the test's directory.
chmod 755 "$WORK"
nobody_bind() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$UST_PRELOAD" \
		USTACK_CTL="$WORK/ctl.sock" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
		/usr/bin/python3 -c 'import socket, errno, sys
s = socket.socket()
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
    print("bound")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1"
}
$USTACK sysctl -w net.ipv4.ip_unprivileged_port_start=1024 >/dev/null || fail "sysctl -w ip_unprivileged_port_start=1024"
got=$(nobody_bind 80)
[ "$got" = EACCES ] || fail "nobody binding port 80 under ip_unprivileged_port_start 1024: $got"
$USTACK sysctl -w net.ipv4.ip_unprivileged_port_start=80 >/dev/null || fail "sysctl -w ip_unprivileged_port_start=80"
got=$(nobody_bind 80)
[ "$got" = bound ] || fail "nobody binding port 80 under ip_unprivileged_port_start 80: $got"
got=$(nobody_bind 79)
[ "$got" = EACCES ] || fail "nobody binding port 79 under ip_unprivileged_port_start 80: $got"
echo "ip_unprivileged_port_start 1024 -> 80: nobody binds 80 (not before), still not 79"
ust_stop
echo PASS
