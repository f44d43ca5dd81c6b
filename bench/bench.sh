#!/usr/bin/env bash
# ustack vs the Linux kernel on this machine, same client, same cores, same
# run: a kernel TCP client in a namespace talks to (a) ustackd's discard and
# echo services over net_tap, (b) the same services written on the kernel's
# TCP in another namespace over veth. Prints medians of 5 runs and the ratio.
# The client is Python, so latency figures include its overhead on both sides.
# Then unmodified programs: iperf3 -c and bench/rr (C, 64-byte round trips)
# on ustack through libustack.so against kernel servers in the namespace,
# and the same programs on the kernel over veth against the same servers.
# ustackd busy-polls its core (IDLE_US=0; set IDLE_US=50 for the default nap).
# net_tap costs a system call per frame in the PMD, which bounds throughput.
# Usage (root): bench/bench.sh [MBYTES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-200}
ROUNDS=${2:-2000}
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
export UST_BIN=$PWD/build/src/dpdk/ustackd UST_TEST_NAME=bench
export UST_PRELOAD=$PWD/build/src/preload/libustack.so
RR=$PWD/build/bench/rr
ECHO=$PWD/build/examples/echo
. tests/integration/lib.sh

LNS=ustbench-linux
SRV=()
cleanup_linux() {
	for p in "${SRV[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$LNS" 2>/dev/null || true
}
trap 'cleanup_linux; ust_cleanup' EXIT

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
iperf_mbit() { /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'; }

cleanup_linux
ip netns add "$NS"
ip netns add "$LNS"
ip link add ustbv0 type veth peer name ustbv1
ip link set ustbv0 netns "$NS"
ip link set ustbv1 netns "$LNS"
ip -n "$NS" addr add 198.18.1.1/24 dev ustbv0
ip -n "$LNS" addr add 198.18.1.2/24 dev ustbv1
ip -n "$NS" link set ustbv0 up
ip -n "$LNS" link set ustbv1 up
ip -n "$LNS" link set lo up

ust_up --services tcp-echo,tcp-discard --idle-sleep-us "${IDLE_US:-0}"
ust=$(in_ns /usr/bin/python3 bench/client.py "$UST_IP" 9 7 "$MB" "$ROUNDS")

# Servers on the kernel in $NS, reached from ustack over the tap and from
# the kernel in $LNS over veth.
ip netns exec "$NS" iperf3 -s >/dev/null 2>&1 &
SRV+=($!)
ip netns exec "$NS" "$ECHO" server tcp 7100 >/dev/null &
SRV+=($!)
sleep 0.5
pl_rr=$(for _ in 1 2 3; do ust_run "$RR" "$PEER_IP" 7100 "$ROUNDS" 64 | cut -d' ' -f1; done | median)
k_rr=$(for _ in 1 2 3; do ip netns exec "$LNS" "$RR" 198.18.1.1 7100 "$ROUNDS" 64 | cut -d' ' -f1; done | median)
pl_tp=$(for _ in 1 2 3; do ust_run iperf3 -c "$PEER_IP" -t 2 -J | iperf_mbit; done | median)
k_tp=$(for _ in 1 2 3; do ip netns exec "$LNS" iperf3 -c 198.18.1.1 -t 2 -J | iperf_mbit; done | median)
ust_stop

ip netns exec "$LNS" /usr/bin/python3 bench/server.py 9 7 &
SRV+=($!)
sleep 0.5
lin=$(in_ns /usr/bin/python3 bench/client.py 198.18.1.2 9 7 "$MB" "$ROUNDS")

read -r ust_tp ust_lat <<<"$ust"
read -r lin_tp lin_lat <<<"$lin"
printf '%-34s %12s %12s %8s\n' "" "ustack" "Linux" "ratio"
printf '%-34s %12s %12s %8s\n' "TCP to discard, MB/s (median of 5)" "$ust_tp" "$lin_tp" \
	"$(echo "$ust_tp $lin_tp" | awk '{printf "%.2f", $1/$2}')"
printf '%-34s %12s %12s %8s\n' "1-byte echo RTT, us (median)" "$ust_lat" "$lin_lat" \
	"$(echo "$ust_lat $lin_lat" | awk '{printf "%.2f", $1/$2}')"
printf '%-34s %12s %12s %8s\n' "iperf3 -c, Mbit/s (median of 3)" "$pl_tp" "$k_tp" \
	"$(echo "$pl_tp $k_tp" | awk '{printf "%.2f", $1/$2}')"
printf '%-34s %12s %12s %8s\n' "rr 64-byte RTT, us (median of 3)" "$pl_rr" "$k_rr" \
	"$(echo "$pl_rr $k_rr" | awk '{printf "%.2f", $1/$2}')"
echo "(rows 1-2, ustack: kernel client -> net_tap -> ustackd's services; Linux: kernel client -> veth ->"
echo " kernel server. Rows 3-4: the program under libustack.so -> ustackd -> net_tap -> kernel server;"
echo " Linux: the same program on the kernel -> veth -> the same server. $MB MB per throughput run,"
echo " $ROUNDS round trips per latency run, $(nproc) cores, shared machine)"
