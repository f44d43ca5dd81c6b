#!/usr/bin/env bash
# ustack opens the connection: ustackd's client connects to a kernel listener
# in the namespace and sends 100 MB of the chargen pattern, which the kernel
# side checks byte for byte; then the kernel sends 100 MB to ustack, which
# checks them.
. "$(dirname "$0")/lib.sh"
PEER="/usr/bin/python3 $(dirname "$0")/tcp_peer.py"
N=100000000

run_client() { # peer mode, ustackd client args
	local mode=$1
	shift
	# The kernel listens before ustackd starts, so its first SYN that gets
	# through finds a listener.
	ip netns add "$NS" 2>/dev/null || true
	ip -n "$NS" link set lo up
	in_ns $PEER "$mode" 5001 "$N" >"$WORK/peer.txt" 2>&1 &
	local peer=$!
	for _ in $(seq 50); do grep -q listening "$WORK/peer.txt" && break; sleep 0.1; done
	CAP_IF=any cap_start 'tcp[tcpflags] & tcp-syn != 0'
	ust_up "$@"
	wait "$peer" || fail "kernel peer ($mode): $(cat "$WORK/peer.txt")"
	grep -v listening "$WORK/peer.txt"
	for _ in $(seq 100); do
		grep -q '^ustackd: client: sent' "$WORK/ustackd.log" && break
		sleep 0.1
	done
	grep '^ustackd: client' "$WORK/ustackd.log"
	cap_stop
	# ustack's own SYN offers MSS 1460, SACK, timestamps and the window
	# scale Linux derives from the receive buffer: ustackd's client sets
	# SO_RCVBUF to 2 MiB (capped by the host's rmem_max, which ustackd took),
	# so ilog2(that) - 15.
	local syn
	syn=$(tshark -r "$WORK/cap.pcap" -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src==$UST_IP" \
		-T fields -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm \
		-e tcp.options.timestamp.tsval 2>/dev/null | sed -n 1p)
	echo "ustack SYN options (mss, wscale, sack_perm, tsval): $syn"
	read -r mss ws sackp tsval <<<"$syn"
	local rmax want
	rmax=2097152
	[ "$(cat /proc/sys/net/core/rmem_max)" -lt "$rmax" ] && rmax=$(cat /proc/sys/net/core/rmem_max)
	want=$(wscale_for "$rmax")
	[ "$mss" = 1460 ] && [ "$ws" = "$want" ] && [ -n "$sackp" ] && [ -n "$tsval" ] ||
		fail "ustack's SYN options: '$syn'"
	ust_stop
}

run_client listen-sink --tcp-connect "$PEER_IP:5001" --send-bytes "$N"
grep -q "client: sent $N bytes" "$WORK/ustackd.log" || fail "ustack did not send $N bytes"

run_client listen-send --tcp-connect "$PEER_IP:5001"
grep -q "received $N bytes, pattern ok" "$WORK/ustackd.log" || fail "ustack did not receive $N intact bytes"
echo PASS
