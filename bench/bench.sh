#!/usr/bin/env bash
# ustack vs the Linux kernel on this machine, same client, same cores, same
# run: a kernel TCP client in a namespace talks to (a) ustackd's discard and
# echo services over net_tap, (b) the same services written on the kernel's
# TCP in another namespace over veth. Prints medians of 5 runs and the ratio.
# The client is Python, so latency figures include its overhead on both sides.
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
. tests/integration/lib.sh

LNS=ustbench-linux
cleanup_linux() { ip netns del "$LNS" 2>/dev/null || true; }
trap 'cleanup_linux; ust_cleanup' EXIT

ust_up --services tcp-echo,tcp-discard --idle-sleep-us "${IDLE_US:-0}"
ust=$(in_ns /usr/bin/python3 bench/client.py "$UST_IP" 9 7 "$MB" "$ROUNDS")
ust_stop

cleanup_linux
ip netns add "$LNS"
ip link add ustbv0 type veth peer name ustbv1
ip link set ustbv0 netns "$NS"
ip link set ustbv1 netns "$LNS"
ip -n "$NS" addr add 198.18.1.1/24 dev ustbv0
ip -n "$LNS" addr add 198.18.1.2/24 dev ustbv1
ip -n "$NS" link set ustbv0 up
ip -n "$LNS" link set ustbv1 up
ip netns exec "$LNS" /usr/bin/python3 bench/server.py 9 7 &
srv=$!
sleep 0.5
lin=$(in_ns /usr/bin/python3 bench/client.py 198.18.1.2 9 7 "$MB" "$ROUNDS")
kill "$srv" 2>/dev/null || true

read -r ust_tp ust_lat <<<"$ust"
read -r lin_tp lin_lat <<<"$lin"
printf '%-34s %12s %12s %8s\n' "" "ustack" "Linux" "ratio"
printf '%-34s %12s %12s %8s\n' "TCP to discard, MB/s (median of 5)" "$ust_tp" "$lin_tp" \
	"$(echo "$ust_tp $lin_tp" | awk '{printf "%.2f", $1/$2}')"
printf '%-34s %12s %12s %8s\n' "1-byte echo RTT, us (median)" "$ust_lat" "$lin_lat" \
	"$(echo "$ust_lat $lin_lat" | awk '{printf "%.2f", $1/$2}')"
echo "(ustack: kernel client -> net_tap -> ustackd; Linux: kernel client -> veth -> kernel server;"
echo " $MB MB per throughput run, $ROUNDS round trips per latency run, $(nproc) cores, shared machine)"
