#!/usr/bin/env bash
# Unmodified ping (iputils) on ustack: raw ICMP and ICMPv6 sockets under
# libustack.so, as root, to the kernel peer (198.18.0.1, 2001:2::1) and to
# ustack's loopback addresses; tracepath -4 and -6 to the peer; the kernel sees ustack's echo requests in a
# clean capture; an unprivileged user gets EPERM for an IPv6 raw socket
# (preload_faults.sh checks IPv4); ping and ping -6 as nobody as
# net.ipv4.ping_group_range (ustackd's tunable) allows or refuses them; raw and
# ping sockets' control messages against the kernel's (tests/posix/rawcmsg.c).
. "$(dirname "$0")/lib.sh"
UST6=2001:2::2
PEER6=2001:2::1

ust_up --ip6 "$UST6/64"
in_ns ip addr add "$PEER6/64" dev "$IF" nodad
# ustack's IPv6 address is usable once duplicate address detection is over.
for _ in $(seq 30); do in_ns ping -6 -c 1 -W 1 "$UST6" >/dev/null 2>&1 && break; sleep 0.2; done
cap_start "icmp or icmp6"
for dst in "$PEER_IP" 127.0.0.1 "$UST_IP"; do
	out=$(ust_run ping -c 3 -i 0.2 -W 2 "$dst" 2>&1) || fail "ping $dst on ustack: $out"
	grep -q "3 packets transmitted, 3 received" <<<"$out" || fail "ping $dst: $out"
	echo "ping $dst on ustack: $(grep -o '3 packets transmitted, 3 received' <<<"$out")"
done
for dst in "$PEER6" ::1 "$UST6"; do
	out=$(ust_run ping -6 -c 3 -i 0.2 -W 2 "$dst" 2>&1) || fail "ping -6 $dst on ustack: $out"
	grep -q "3 packets transmitted, 3 received" <<<"$out" || fail "ping -6 $dst: $out"
	echo "ping -6 $dst on ustack: $(grep -o '3 packets transmitted, 3 received' <<<"$out")"
done
# tracepath (UDP with IP_RECVERR/IPV6_RECVERR and IP_PMTUDISC_PROBE): its
# first probe, the size of an unknown path, is refused as a local EMSGSIZE
# error telling the MTU; the next fits and the kernel's port unreachable,
# read from the error queue, says the peer is reached.
MTU=$(in_ns cat "/sys/class/net/$IF/mtu")
for fam in 4 6; do
	dst=$PEER_IP
	[ "$fam" = 6 ] && dst=$PEER6
	out=$(ust_run tracepath -"$fam" -n -m 3 "$dst" 2>&1) || fail "tracepath -$fam $dst on ustack: $out"
	grep -Eq "^ *1: +$dst +.*reached" <<<"$out" || fail "tracepath -$fam $dst did not reach it: $out"
	grep -Eq "pmtu $MTU" <<<"$out" || fail "tracepath -$fam $dst: no pmtu $MTU: $out"
	echo "tracepath -$fam $dst on ustack: $(grep -E 'Resume' <<<"$out" | tr -s ' ')"
done
cap_stop
req=$(tshark -r "$WORK/cap.pcap" -Y "(icmp.type == 8 || icmpv6.type == 128) && eth.src == $UST_MAC" 2>/dev/null | wc -l)
[ "$req" -ge 6 ] || fail "the kernel saw $req echo requests from ustack, expected 6"
bad=$(tshark -r "$WORK/cap.pcap" -Y '_ws.malformed || icmp.checksum.status == "Bad"' 2>/dev/null | sed -n 1,3p)
[ -z "$bad" ] || fail "tshark flags: $bad"
echo "capture: $req echo requests from ustack, none malformed"

# nobody reaches ustackd's control socket through the test's directory.
chmod 755 "$WORK"
raw=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$UST_PRELOAD" \
	USTACK_CTL="$WORK/ctl.sock" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
	/usr/bin/python3 -c 'import socket,errno
try: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6); print("opened")
except OSError as e: print(errno.errorcode[e.errno])')
[ "$raw" = EPERM ] || fail "nobody opening an AF_INET6 SOCK_RAW: $raw"
echo "AF_INET6 SOCK_RAW for nobody: EPERM"

# Unprivileged ping: Debian's ping has file capabilities, for which the
# loader ignores LD_PRELOAD; a copy has none (cp drops them), so as nobody
# it asks for an ICMP datagram socket, which ustackd's
# net.ipv4.ping_group_range grants by the caller's effective or
# supplementary groups, as Linux does (else EACCES, and ping's fallback to
# a raw socket gets EPERM).
cp /usr/bin/ping "$WORK/ping"
users=$(getent group users | cut -d: -f3)
nobody_ping() {
	local groups=$1
	shift
	setpriv --reuid=nobody --regid=nogroup $groups env LD_PRELOAD="$UST_PRELOAD" \
		USTACK_CTL="$WORK/ctl.sock" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
		"$WORK/ping" -c 3 -i 0.2 -W 2 "$@" 2>&1
}
ping_range() {
	"$UST_CLI" --ctl "$WORK/ctl.sock" sysctl -w "net.ipv4.ping_group_range=$1" >/dev/null ||
		fail "ustack sysctl -w net.ipv4.ping_group_range=$1"
}
ping_range "1 0"
out=$(nobody_ping --clear-groups "$PEER_IP") && fail "nobody's ping with ping_group_range '1 0': $out"
grep -q "Operation not permitted" <<<"$out" || fail "nobody's refused ping says: $out"
echo "nobody's ping, ping_group_range '1 0': refused"
ping_range "0 2147483647"
for dst in "$PEER_IP" 127.0.0.1 "-6 $PEER6" "-6 ::1"; do
	out=$(nobody_ping --clear-groups $dst) || fail "nobody's ping $dst: $out"
	grep -q "3 packets transmitted, 3 received" <<<"$out" || fail "nobody's ping $dst: $out"
	echo "nobody's ping $dst on ustack (ping_group_range '0 2147483647'): 3 of 3 answered"
done
# Raw and ping sockets' control messages (tests/posix/rawcmsg.c) with ping
# sockets allowed on both sides: the kernel in the peer's namespace
# against ustack, outputs equal.
in_ns sysctl -qw net.ipv4.ping_group_range="0 2147483647"
in_ns "$POSIX_BIN/posix_rawcmsg" >"$WORK/rawcmsg.kernel" 2>&1 || fail "rawcmsg on the kernel: $(cat "$WORK/rawcmsg.kernel")"
UST_PRELOAD=${UST_PRELOAD_OWN:-$UST_PRELOAD} ust_run "$POSIX_BIN/posix_rawcmsg" >"$WORK/rawcmsg.ustack" 2>&1 ||
	fail "rawcmsg on ustack: $(cat "$WORK/rawcmsg.ustack")"
grep -q "ping6_recv_reply_cmsg" "$WORK/rawcmsg.kernel" || fail "no ping socket case ran: $(cat "$WORK/rawcmsg.kernel")"
diff -u --label kernel --label ustack "$WORK/rawcmsg.kernel" "$WORK/rawcmsg.ustack" ||
	fail "raw and ping sockets' control messages differ from the kernel's"
echo "raw and ping sockets' control messages: $(wc -l <"$WORK/rawcmsg.kernel") lines equal on the kernel and on ustack"
# Only a supplementary group in the range.
ping_range "$users $users"
out=$(nobody_ping --clear-groups "$PEER_IP") && fail "nobody's ping with no group in '$users $users': $out"
out=$(nobody_ping --groups="$users" "$PEER_IP") || fail "nobody in group $users, range '$users $users': $out"
grep -q "3 packets transmitted, 3 received" <<<"$out" || fail "nobody in group $users: $out"
echo "nobody's ping with supplementary group $users alone in ping_group_range: 3 of 3 answered"
ust_stop
echo PASS
