#!/usr/bin/env bash
# IPv4 path MTU discovery (RFC 1191) against the kernel: ustack's peer is a
# host two hops away, behind a router (the namespace on the tap) whose link
# onward has an MTU of 1280 while the far host's own is 1500 (so its MSS says
# 1460). ustack's full-sized segments reach the router with DF set, the
# router answers fragmentation needed, ustack lowers the path MTU and the
# connection's MSS, and every byte arrives. Without discovery the transfer
# stalls: each big segment is dropped at the router.
. "$(dirname "$0")/lib.sh"
PEER="/usr/bin/python3 $(dirname "$0")/tcp_peer.py"
N=3000000
ROUTER_FAR=198.18.5.1
FAR=198.18.5.2
NS2=${NS}f

pmtu_cleanup() {
	ip netns del "$NS2" 2>/dev/null
	ust_cleanup
}
trap pmtu_cleanup EXIT

ip netns add "$NS"
ip netns add "$NS2"
ip -n "$NS" link set lo up
ip -n "$NS2" link set lo up
ip link add "${IF}r" type veth peer name "${IF}f"
ip link set "${IF}r" netns "$NS"
ip link set "${IF}f" netns "$NS2"
ip -n "$NS" addr add "$ROUTER_FAR/24" dev "${IF}r"
ip -n "$NS" link set "${IF}r" mtu 1280 up
ip -n "$NS2" addr add "$FAR/24" dev "${IF}f"
ip -n "$NS2" link set "${IF}f" up
ip -n "$NS2" route add default via "$ROUTER_FAR"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1

ip netns exec "$NS2" $PEER listen-sink 5001 "$N" >"$WORK/peer.txt" 2>&1 &
peer=$!
for _ in $(seq 50); do grep -q listening "$WORK/peer.txt" && break; sleep 0.1; done
CAP_IF=any cap_start
ust_up --gw "$PEER_IP" --tcp-connect "$FAR:5001" --send-bytes "$N"
wait "$peer" || fail "far host: $(cat "$WORK/peer.txt")"
grep -v listening "$WORK/peer.txt"
for _ in $(seq 100); do
	grep -q '^ustackd: client: sent' "$WORK/ustackd.log" && break
	sleep 0.1
done
grep -q "client: sent $N bytes" "$WORK/ustackd.log" || fail "ustack did not send $N bytes"
cap_stop

# The router answers each big segment of the first flight as the tap hands
# it over (the whole flight left in one burst, before ustack read the first
# answer); once ustack has read them, nothing it sends exceeds the path.
# (Linux never rate-limits fragmentation needed.)
icmp=$(tshark -r "$WORK/cap.pcap" -Y "icmp.type == 3 && icmp.code == 4 && icmp.mtu == 1280 && ip.dst == $UST_IP" \
	-T fields -e frame.number 2>/dev/null)
[ -n "$icmp" ] || fail "no fragmentation needed (MTU 1280) from the router in the capture"
last=$(echo "$icmp" | tail -1)
big_before=$(tshark -r "$WORK/cap.pcap" -Y "!icmp && ip.src == $UST_IP && ip.len > 1280 && frame.number < $last" 2>/dev/null | wc -l)
big_after=$(tshark -r "$WORK/cap.pcap" -Y "!icmp && ip.src == $UST_IP && ip.len > 1280 && frame.number > $last" 2>/dev/null | wc -l)
small_after=$(tshark -r "$WORK/cap.pcap" -Y "!icmp && ip.src == $UST_IP && ip.dst == $FAR && ip.len > 1000 && ip.len <= 1280 && frame.number > $last" 2>/dev/null | wc -l)
[ "$big_before" -ge 1 ] || fail "ustack sent nothing above 1280 bytes before the router's errors"
# Only the first flight (ten segments) can be too big: the first error read
# lowers the MSS before anything more is sent.
[ "$(echo "$icmp" | wc -l)" -le 20 ] || fail "$(echo "$icmp" | wc -l) fragmentation needed: ustack kept sending big segments"
[ "$big_after" -eq 0 ] || fail "ustack still sent $big_after datagrams above the path MTU of 1280"
[ "$small_after" -ge 1000 ] || fail "only $small_after full segments of the path MTU after the errors"
echo "capture: $(echo "$icmp" | wc -l) fragmentation needed (MTU 1280) for $big_before segments of 1500; then $small_after segments of at most 1280, none larger"
ust_stop
echo PASS
