#!/usr/bin/env bash
# Interface indexes and scope ids as Linux has them, against the kernel over
# net_tap with link-local addresses only: ustackd's port is interface
# "ustll0", index 4242 (--ifname, --ifindex). linklocal.py runs on each side
# in turn, server and client, on the kernel in the peer's namespace and on
# ustack under libustack.so, and the two outputs must be equal: the index
# from if_nametoindex/if_nameindex/getifaddrs, the peer's sin6_scope_id in
# recvmsg, accept, getpeername and getsockname, IPV6_PKTINFO's ifindex, the
# errnos of unscoped and unknown scope ids (bind, connect, a ping socket's
# sendto), UDP, TCP and ping to PEER%INDEX. Then ping -6 to the kernel's
# link-local address with a numeric scope, and ioctl SIOCGIFINDEX.
. "$(dirname "$0")/lib.sh"
PY="/usr/bin/python3 $(dirname "$0")/linklocal.py"
UST_IFNAME=ustll0
UST_IFINDEX=4242

ust_up --ip6 fe80::/64 --ifname "$UST_IFNAME" --ifindex "$UST_IFINDEX"
grep -q "if $UST_IFNAME index $UST_IFINDEX" "$WORK/ustackd.log" || fail "ustackd does not say its interface"
# Ping sockets for everybody, on both sides.
in_ns sysctl -qw net.ipv4.ping_group_range="0 2147483647"
"$UST_CLI" --ctl "$WORK/ctl.sock" sysctl -w net.ipv4.ping_group_range="0 2147483647" >/dev/null ||
	fail "ustack sysctl ping_group_range"
ust_ll=$(printf 'fe80::%x:%xff:fe%02x:%x' $(( (0x${UST_MAC:0:2} ^ 2) << 8 | 0x${UST_MAC:3:2} )) \
	"0x${UST_MAC:6:2}" "0x${UST_MAC:9:2}" "0x${UST_MAC:12:2}${UST_MAC:15:2}")
# The tap came up before it moved into the namespace, so the kernel made no
# link-local address for it there: give it one.
peer_ll=fe80::2:1
in_ns ip addr add "$peer_ll/64" dev "$IF" nodad
# ustack's link-local address answers once its own DAD is over.
wait_until 60 "ustack's link-local address" in_ns ping -6 -c 1 -W 1 "$ust_ll%$IF"
echo "kernel $peer_ll on $IF, ustack $ust_ll on $UST_IFNAME ($UST_IFINDEX)"

# Round 1: the kernel serves, ustack is the client; round 2 the other way.
in_ns $PY serve "$IF" "$peer_ll" "$ust_ll" "$WORK/ready1" >"$WORK/serve.kernel" 2>&1 &
spid=$!
ust_run $PY client "$UST_IFNAME" "$ust_ll" "$peer_ll" "$WORK/ready1" >"$WORK/client.ustack" 2>&1 ||
	fail "client on ustack: $(cat "$WORK/client.ustack")"
wait $spid || fail "server on the kernel: $(cat "$WORK/serve.kernel")"
ust_bg $PY serve "$UST_IFNAME" "$ust_ll" "$peer_ll" "$WORK/ready2" >"$WORK/serve.ustack" 2>&1
spid=$!
in_ns $PY client "$IF" "$peer_ll" "$ust_ll" "$WORK/ready2" >"$WORK/client.kernel" 2>&1 ||
	fail "client on the kernel: $(cat "$WORK/client.kernel")"
wait $spid || fail "server on ustack: $(cat "$WORK/serve.ustack")"
for r in serve client; do
	diff -u --label kernel --label ustack "$WORK/$r.kernel" "$WORK/$r.ustack" ||
		fail "the $r differs between the kernel and ustack"
	echo "$r: $(wc -l <"$WORK/$r.kernel") lines equal on the kernel and on ustack"
done
grep -q "udp_from_scope: mine" "$WORK/serve.ustack" || fail "no scope id seen: $(cat "$WORK/serve.ustack")"

# Unmodified ping to the kernel's link-local address, the scope by number
# (glibc resolves a scope name with its internal if_nametoindex).
out=$(ust_run ping -6 -c 3 -i 0.2 -W 2 "$peer_ll%$UST_IFINDEX" 2>&1) || fail "ping -6 $peer_ll%$UST_IFINDEX: $out"
grep -q "3 packets transmitted, 3 received" <<<"$out" || fail "ping -6 $peer_ll%$UST_IFINDEX: $out"
echo "ping -6 $peer_ll%$UST_IFINDEX on ustack: 3 of 3 answered"

got=$(ust_run /usr/bin/python3 -c '
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
r = fcntl.ioctl(s, 0x8933, struct.pack("16sI", sys.argv[1].encode(), 0) + bytes(20))  # SIOCGIFINDEX
n = fcntl.ioctl(s, 0x8910, struct.pack("16sI", b"", struct.unpack("I", r[16:20])[0]) + bytes(20))  # SIOCGIFNAME
print(struct.unpack("I", r[16:20])[0], n[:16].rstrip(b"\0").decode())' "$UST_IFNAME") ||
	fail "SIOCGIFINDEX on ustack"
[ "$got" = "$UST_IFINDEX $UST_IFNAME" ] || fail "SIOCGIFINDEX/SIOCGIFNAME said '$got'"
echo "SIOCGIFINDEX $UST_IFNAME and SIOCGIFNAME back on a ustack socket: $got"
echo PASS
