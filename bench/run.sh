#!/usr/bin/env bash
# ustack against the Linux kernel on this machine: the same unmodified
# programs, the same cores, one run, interleaved A/B (Linux, ustack, then
# ustack, Linux, ...), medians of RUNS runs with min and max.
#
# Setups (named in the table):
#   local  both programs on this host: Linux over lo; ustack's loopback
#          path, both programs under libustack.so on one ustackd
#   wire   the program against a kernel peer in a namespace: ustack through
#          ustackd and net_tap; Linux from a second namespace over veth
#   s2s    stack to stack: two ustackd joined by net_memif, a program on
#          each; Linux: the two namespaces over veth
#   stack  measured once: instructions per data segment + ACK (callgrind),
#          ustackd memory per idle connection, CPU time while idle
#
# Usage (root): bench/run.sh [--quick] [--build DIR] [--setups local,wire,s2s,stack] [--only RE]
#   --quick       1 run of 1 s per cell instead of 3 of 3 s (for iteration)
#   --build DIR   the build to measure (default build/; built if missing)
#   --only RE     only the workloads whose name matches the regular expression
#   UST_OPTS      extra ustackd options, e.g. UST_OPTS='--idle-sleep-us 0'
# Prints the table; writes raw.csv, summary.csv, table.md and PNG plots to
# bench/results/DATE/ (git-ignored). Not part of the test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=3
SECS=3
BUILD=$ROOT/build
SETUPS=local,wire,s2s,stack
ONLY=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) RUNS=1 SECS=1 ;;
	--build) BUILD=$(realpath "$2"); shift ;;
	--setups) SETUPS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	*) echo "usage: bench/run.sh [--quick] [--build DIR] [--setups LIST] [--only RE]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: needs root (namespaces, net_tap)" >&2; exit 1; }
for t in sockperf iperf3 redis-server redis-benchmark nginx wrk valgrind; do
	command -v $t >/dev/null || { echo "bench/run.sh: $t missing — apt-get install sockperf iperf3 redis-server redis-tools nginx wrk valgrind python3-matplotlib" >&2; exit 1; }
done
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null || exit 1
ninja -C "$BUILD" -j2 >/dev/null || exit 1
USTACKD=$BUILD/src/dpdk/ustackd
PRELOAD=$BUILD/src/preload/libustack.so
CONN=$BUILD/bench/conn
CALLS=$BUILD/bench/calls
SEGCOST=$BUILD/bench/segcost

OUT=$ROOT/bench/results/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
RAW=$OUT/raw.csv
echo "setup,workload,metric,unit,better,stack,run,value,note" >"$RAW"
W=$(mktemp -d /tmp/ustack-bench-XXXXXX)
tag=$(echo "$ROOT" | md5sum | cut -c1-4)
NS=ubpeer$tag   # the kernel peer
LNS=ublin$tag   # the Linux program's namespace (wire, s2s)
TAP=ubtap$tag
PIDS=()

cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$LNS" 2>/dev/null
	ip link del "$TAP" 2>/dev/null
	ip link del "ubm$tag" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# rec SETUP WORKLOAD METRIC UNIT BETTER STACK RUN VALUE [NOTE]
rec() {
	local note=${9:-}
	echo "\"$1\",\"$2\",\"$3\",\"$4\",$5,$6,$7,$8,\"${note//\"/\'}\"" >>"$RAW"
}

# Start a program in the background, remember it for cleanup; $! is it.
bg() { "$@" & PIDS+=($!); }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# The prefix that runs a command under libustack.so on the ustackd whose
# control socket is $1.
on_ust() { echo "env LD_PRELOAD=$PRELOAD USTACK_CTL=$1"; }

ustackd_up() { # NAME ARGS...: start ustackd, wait for "up"
	local name=$1
	shift
	bg "$USTACKD" --lock "$W/$name.lock" --ctl "$W/$name.sock" $UST_OPTS_ "$@" >"$W/$name.log" 2>&1
	local pid=$!
	for _ in $(seq 100); do
		grep -q '^ustackd: up' "$W/$name.log" && { echo $pid >"$W/$name.pid"; return 0; }
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	log "ustackd $name did not start: $(tail -2 "$W/$name.log")"
	return 1
}
UST_OPTS_=${UST_OPTS:-}

ustackd_down() {
	local pid
	pid=$(cat "$W/$1.pid")
	kill -INT "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
}

# Wait until something listens on PORT in namespace NS ("" = here) or
# until a preloaded server had time to come up.
wait_port() { # NS PROTO PORT
	local ns=$1 p=$2 port=$3
	for _ in $(seq 50); do
		if [ -n "$ns" ]; then
			ip netns exec "$ns" ss -Hln"${p:0:1}" "sport = :$port" | grep -q . && return 0
		else
			ss -Hln"${p:0:1}" "sport = :$port" | grep -q . && return 0
		fi
		sleep 0.1
	done
	return 1
}

# The runs of one client command on both stacks, interleaved.
#   cell SETUP WORKLOAD LINUX_CMD UST_CMD PARSER
# The commands are strings (eval'd); PARSER reads their stdout and prints
# "METRIC UNIT BETTER VALUE" lines. A command that fails, times out or
# prints nothing parsable records "does not run" with its last error line.
cell() {
	local setup=$1 wl=$2 lcmd=$3 ucmd=$4 parser=$5
	local r stack cmd order
	[[ -z "$ONLY" || "$wl" =~ $ONLY ]] || return 0
	for r in $(seq "$RUNS"); do
		order="linux ustack"
		[ $((r % 2)) -eq 0 ] && order="ustack linux"
		for stack in $order; do
			[ -f "$W/dnr-$setup-$wl-$stack" ] && continue
			[ "$stack" = linux ] && cmd=$lcmd || cmd=$ucmd
			if [ -z "$cmd" ]; then
				echo "$wl: no ${stack} variant" >"$W/dnr-$setup-$wl-$stack"
				rec "$setup" "$wl" - - - "$stack" 0 NA "does not run: no such variant"
				continue
			fi
			local got
			got=$(timeout $((SECS * 4 + 30)) bash -c "$cmd" 2>"$W/err" | $parser)
			if [ -z "$got" ]; then
				local why
				why=$(grep -v '^\s*$' "$W/err" | tail -1 | cut -c1-100)
				[ -z "$why" ] && why="no result (timed out or crashed)"
				rec "$setup" "$wl" - - - "$stack" "$r" NA "does not run: $why"
				touch "$W/dnr-$setup-$wl-$stack"
				log "$setup $wl $stack: does not run: $why"
				continue
			fi
			while read -r m u b v; do
				rec "$setup" "$wl" "$m" "$u" "$b" "$stack" "$r" "$v"
			done <<<"$got"
			log "$setup $wl $stack run $r: $(echo $got | tr '\n' ' ')"
		done
	done
}

p_sockperf() {
	awk '/percentile 50.000/ {p50=$NF} /percentile 99.000/ {p99=$NF} /percentile 99.900/ {p999=$NF}
	     END {if (p50 != "") {print "p50 us lower " p50; print "p99 us lower " p99; print "p99.9 us lower " p999}}'
}
p_iperf() {
	/usr/bin/python3 -c 'import json,sys
try:
    j = json.load(sys.stdin)
    print("throughput Gbit/s higher %.2f" % (j["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    pass'
}
p_redis() {
	awk -F'"' '/^"SET"/ {print "SET req/s higher " int($4)} /^"GET"/ {print "GET req/s higher " int($4)}'
}
# wrk counts requests that got no answer too: none answered is "does not run".
p_wrk() { awk '/^Requests\/sec:/ && $2 > 0 {print "requests/s req/s higher " int($2)}'; }
p_rate() { awk 'NF == 1 && $1 ~ /^[0-9]+$/ {print "connections/s conn/s higher " $1}'; }
p_calls() { awk 'NF == 2 {print $1 " ns/call lower " $2}'; }

# The client workloads that run in each setup:
#   workloads SETUP SRV_LINUX_NS SRV_UST_CTL LIN_PREFIX UST_PREFIX LIN_IP UST_IP
# Servers: on Linux in namespace SRV_LINUX_NS ("" = here) at LIN_IP, on
# ustack under the ustackd SRV_UST_CTL ("" = the kernel peer serves both).
# Clients: LIN_PREFIX / UST_PREFIX run them (a namespace or libustack.so).
client_workloads() {
	local setup=$1 lns=$2 uctl=$3 lpre=$4 upre=$5 lip=$6 uip=$7
	local lx=""
	[ -n "$lns" ] && lx="ip netns exec $lns"
	local ls=() us=() p
	start_srv() { # PROTO PORT CMD...: the server on both stacks
		local proto=$1 port=$2
		shift 2
		bg $lx "$@" >/dev/null 2>&1
		ls+=($!)
		if [ -n "$uctl" ]; then
			bg env LD_PRELOAD="$PRELOAD" USTACK_CTL="$uctl" "$@" >"$W/usrv.log" 2>&1
			us+=($!)
		fi
		wait_port "$lns" "$proto" "$port" || log "$setup: the Linux server on $port did not come up"
		[ -n "$uctl" ] && sleep 1
		return 0
	}
	stop_srv() {
		for p in "${ls[@]}" "${us[@]}"; do stop "$p"; done
		ls=() us=()
	}

	start_srv tcp 11111 sockperf sr --tcp -i 0.0.0.0 -p 11111
	cell "$setup" "sockperf TCP ping-pong 64 B" \
		"$lpre sockperf pp --tcp -i $lip -p 11111 -t $SECS -m 64" \
		"$upre sockperf pp --tcp -i $uip -p 11111 -t $SECS -m 64" p_sockperf
	stop_srv
	start_srv udp 11112 sockperf sr -i 0.0.0.0 -p 11112
	cell "$setup" "sockperf UDP ping-pong 64 B" \
		"$lpre sockperf pp -i $lip -p 11112 -t $SECS -m 64" \
		"$upre sockperf pp -i $uip -p 11112 -t $SECS -m 64" p_sockperf
	stop_srv

	start_srv tcp 5201 iperf3 -s -4 -p 5201
	cell "$setup" "iperf3 1 stream" "$lpre iperf3 -c $lip -p 5201 -t $SECS -J" \
		"$upre iperf3 -c $uip -p 5201 -t $SECS -J" p_iperf
	if [ "$setup" != s2s ]; then
		cell "$setup" "iperf3 1 stream reverse" "$lpre iperf3 -c $lip -p 5201 -t $SECS -R -J" \
			"$upre iperf3 -c $uip -p 5201 -t $SECS -R -J" p_iperf
		cell "$setup" "iperf3 4 streams" "$lpre iperf3 -c $lip -p 5201 -t $SECS -P 4 -J" \
			"$upre iperf3 -c $uip -p 5201 -t $SECS -P 4 -J" p_iperf
	fi
	stop_srv

	start_srv tcp 7000 "$CONN" serve 7000
	cell "$setup" "connect, 1 request, close" "$lpre $CONN rate $lip 7000 $SECS" \
		"$upre $CONN rate $uip 7000 $SECS" p_rate
	stop_srv

	[ "$setup" = local ] || return 0
	local n=$((SECS * 20000))
	start_srv tcp 6390 redis-server --port 6390 --bind 0.0.0.0 --save '' --appendonly no \
		--protected-mode no --daemonize no
	cell "$setup" "redis 50 clients" "redis-benchmark -p 6390 -c 50 -n $n -t set,get --csv" \
		"$upre redis-benchmark -p 6390 -c 50 -n $n -t set,get --csv" p_redis
	cell "$setup" "redis 50 clients -P 16" "redis-benchmark -p 6390 -c 50 -n $((n * 8)) -P 16 -t set,get --csv" \
		"$upre redis-benchmark -p 6390 -c 50 -n $((n * 8)) -P 16 -t set,get --csv" p_redis
	stop_srv

	mkdir -p "$W/www"
	head -c 1024 /dev/zero | tr '\0' x >"$W/www/1k"
	local d
	for d in nginx-linux nginx-ustack; do
		mkdir -p "$W/$d"
		cat >"$W/$d/nginx.conf" <<-EOF
			daemon off; master_process off; worker_processes 1;
			error_log $W/$d/error.log; pid $W/$d/nginx.pid;
			events { worker_connections 4096; }
			http {
			  access_log off; keepalive_requests 1000000;
			  client_body_temp_path $W/$d; proxy_temp_path $W/$d; fastcgi_temp_path $W/$d;
			  uwsgi_temp_path $W/$d; scgi_temp_path $W/$d;
			  server { listen 8088; root $W/www; }
			}
		EOF
	done
	bg nginx -c "$W/nginx-linux/nginx.conf" -p "$W/nginx-linux" >/dev/null 2>&1
	ls+=($!)
	bg env LD_PRELOAD="$PRELOAD" USTACK_CTL="$uctl" nginx -c "$W/nginx-ustack/nginx.conf" \
		-p "$W/nginx-ustack" >"$W/usrv.log" 2>&1
	us+=($!)
	wait_port "" tcp 8088
	sleep 1
	cell "$setup" "nginx+wrk 1 KiB keep-alive" "wrk -t1 -c32 -d${SECS}s http://127.0.0.1:8088/1k" \
		"$upre wrk -t1 -c32 -d${SECS}s http://127.0.0.1:8088/1k" p_wrk
	cell "$setup" "nginx+wrk 1 KiB Connection: close" \
		"wrk -t1 -c32 -d${SECS}s -H 'Connection: close' http://127.0.0.1:8088/1k" \
		"$upre wrk -t1 -c32 -d${SECS}s -H 'Connection: close' http://127.0.0.1:8088/1k" p_wrk
	stop_srv
	cell "$setup" "accept of an established connection" "$CALLS accept 127.0.0.1 7100" \
		"$upre $CALLS accept 127.0.0.1 7100" p_calls
	cell "$setup" "epoll_wait, 1 ready of 64" "$CALLS epoll_wait 127.0.0.1 7101" \
		"$upre $CALLS epoll_wait 127.0.0.1 7101" p_calls
}

# The kernel peer namespace, the Linux program's namespace and the veth
# between them (wire and s2s compare against it).
netns_up() {
	ip netns add "$NS"
	ip netns add "$LNS"
	ip -n "$NS" link set lo up
	ip -n "$LNS" link set lo up
	ip link add ubv0$tag type veth peer name ubv1$tag
	ip link set ubv0$tag netns "$NS"
	ip link set ubv1$tag netns "$LNS"
	ip -n "$NS" addr add 198.18.1.1/24 dev ubv0$tag
	ip -n "$LNS" addr add 198.18.1.2/24 dev ubv1$tag
	ip -n "$NS" link set ubv0$tag up
	ip -n "$LNS" link set ubv1$tag up
}

tap_up() { # the first ustackd: net_tap, the tap into $NS
	ustackd_up a --vdev "net_tap0,iface=$TAP" --ip 198.18.0.2/24 || return 1
	ip link set "$TAP" netns "$NS"
	ip -n "$NS" addr add 198.18.0.1/24 dev "$TAP"
	ip -n "$NS" link set "$TAP" up
}

setup_local() {
	log "local: Linux over lo, ustack's loopback"
	client_workloads local "" "$W/a.sock" "" "$(on_ust $W/a.sock)" 127.0.0.1 127.0.0.1
}

# Peer servers on the kernel in $NS serve both: ustack reaches them over
# the tap (198.18.0.1), Linux from $LNS over veth (198.18.1.1).
setup_wire() {
	log "wire: kernel peer over net_tap vs over veth"
	client_workloads wire "$NS" "" "ip netns exec $LNS" "$(on_ust $W/a.sock)" 198.18.1.1 198.18.0.1
}

# The two ustackd poll on different CPUs (b on 1, c on 0).
setup_s2s() {
	log "s2s: two ustackd over net_memif vs two namespaces over veth"
	if ! ustackd_up b --vdev "net_memif0,role=server,socket=$W/memif.sock" --ip 198.18.2.1/24 ||
		! ustackd_up c --vdev "net_memif0,role=client,socket=$W/memif.sock" --ip 198.18.2.2/24 --cpu 0; then
		rec s2s "all" - - - ustack 0 NA "does not run: net_memif: $(tail -1 "$W/b.log" "$W/c.log" | tr '\n' ' ')"
		return
	fi
	sleep 1
	# Servers: Linux in $NS, ustack on b; clients: Linux in $LNS, ustack on c.
	client_workloads s2s "$NS" "$W/b.sock" "ip netns exec $LNS" "$(on_ust $W/c.sock)" 198.18.1.1 198.18.2.1
	ustackd_down c
	ustackd_down b
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# ustackd's memory per idle connection: a program under libustack.so
# accepts N connections from the kernel peer and keeps them open. A fresh
# ustackd on a tap of its own, so memory freed by earlier runs does not
# hide what the connections take.
idle_mem() { # N PORT
	local n=$1 port=$2 upid tap=ubm$tag
	local srv hold before after i srcs=""
	if [ "$(ulimit -Hn)" -lt $((n + 1000)) ]; then
		rec stack "$n idle connections" "ustackd memory" "B/conn" lower ustack 1 NA \
			"does not run: RLIMIT_NOFILE's hard limit is $(ulimit -Hn) here"
		return
	fi
	if ! ustackd_up m --vdev "net_tap1,iface=$tap" --ip 198.18.4.2/24; then
		rec stack "$n idle connections" "ustackd memory" "B/conn" lower ustack 1 NA "does not run: ustackd did not start"
		return
	fi
	upid=$(cat "$W/m.pid")
	ip link set "$tap" netns "$NS"
	ip -n "$NS" addr add 198.18.4.1/24 dev "$tap"
	for i in 11 12 13 14; do
		ip -n "$NS" addr add 198.18.4.$i/24 dev "$tap"
		srcs=$srcs${srcs:+,}198.18.4.$i
	done
	ip -n "$NS" link set "$tap" up
	ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	rm -f "$W/hold-in" "$W/srv-in"
	mkfifo "$W/hold-in" "$W/srv-in"
	( ulimit -n $((n + 1000)); exec env LD_PRELOAD="$PRELOAD" USTACK_CTL="$W/m.sock" "$CONN" accept "$port" "$n" \
		<"$W/srv-in" >"$W/srv.out" 2>&1 ) &
	srv=$!
	PIDS+=($srv)
	exec 7>"$W/srv-in"
	sleep 1
	before=$(rss_kib "$upid")
	( ulimit -n $((n + 1000)); exec ip netns exec "$NS" "$CONN" hold "198.18.4.2@$srcs" "$port" "$n" \
		<"$W/hold-in" >"$W/hold.out" 2>&1 ) &
	hold=$!
	PIDS+=($hold)
	exec 8>"$W/hold-in"
	for _ in $(seq $((n / 100 + 60))); do
		grep -q held "$W/srv.out" && grep -q held "$W/hold.out" && break
		kill -0 $srv 2>/dev/null && kill -0 $hold 2>/dev/null || break
		sleep 0.5
	done
	if grep -q held "$W/srv.out"; then
		sleep 1
		after=$(rss_kib "$upid")
		rec stack "$n idle connections" "ustackd memory" "B/conn" lower ustack 1 \
			"$(( (after - before) * 1024 / n ))"
		log "idle $n: ustackd RSS $before -> $after KiB"
	else
		local why
		why=$(cat "$W/srv.out" "$W/hold.out" | grep -v '^$' | tail -1 | cut -c1-100)
		rec stack "$n idle connections" "ustackd memory" "B/conn" lower ustack 1 NA \
			"does not run: ${why:-not all connections held}"
		log "idle $n: does not run: $why"
	fi
	exec 7>&- 8>&-
	stop $hold
	stop $srv
	ustackd_down m
	ip -n "$NS" link del "$tap" 2>/dev/null
}

setup_stack() {
	log "stack: instructions per segment, idle memory and CPU"
	local out segs
	out=$(valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" --toggle-collect=stack_work \
		"$SEGCOST" 2000 2>&1)
	segs=$(echo "$out" | awk '/^segments/ {print $2; print $4}' | head -2 | tr '\n' ' ')
	local ir
	ir=$(echo "$out" | awk '/Collected :/ {print $NF}')
	set -- $segs
	if [ -n "$ir" ] && [ "${1:-0}" -gt 0 ]; then
		rec stack "in-memory transfer" "instructions per data segment + ACK" Ir lower ustack 1 \
			$((ir / $1)) "callgrind; $2 ACKs per $1 segments"
		local ck
		ck=$(callgrind_annotate "$W/cg.out" 2>/dev/null | awk '/ust_csum_partial/ {gsub(",", "", $1); print $1; exit}')
		rec stack "in-memory transfer" "... of which checksums" Ir lower ustack 1 $(( ${ck:-0} / $1 ))
	else
		rec stack "in-memory transfer" "instructions per data segment + ACK" Ir lower ustack 1 NA \
			"does not run: $(echo "$out" | tail -1)"
	fi

	# Idle: ustackd and a program blocked in accept(), CPU time over 10 s.
	local idle_s=10
	[ "$RUNS" -eq 1 ] && idle_s=3
	local upid srv u0 s0 u1 s1
	upid=$(cat "$W/a.pid")
	bg env LD_PRELOAD="$PRELOAD" USTACK_CTL="$W/a.sock" "$CONN" serve 7300 >/dev/null 2>&1
	srv=$!
	sleep 1
	u0=$(cpu_ticks "$upid")
	s0=$(cpu_ticks "$srv")
	sleep "$idle_s"
	u1=$(cpu_ticks "$upid")
	s1=$(cpu_ticks "$srv")
	local hz
	hz=$(getconf CLK_TCK)
	rec stack idle "ustackd CPU over ${idle_s} s idle" "% of a core" lower ustack 1 \
		"$(echo "$u0 $u1 $hz $idle_s" | awk '{printf "%.1f", ($2 - $1) * 100 / $3 / $4}')"
	rec stack idle "program blocked in accept, CPU" "% of a core" lower ustack 1 \
		"$(echo "$s0 $s1 $hz $idle_s" | awk '{printf "%.1f", ($2 - $1) * 100 / $3 / $4}')"
	stop $srv

	idle_mem 10000 7400
	[ "$RUNS" -gt 1 ] && idle_mem 100000 7401
}

netns_up
tap_up || { echo "bench/run.sh: ustackd did not start on net_tap: $(tail -2 "$W/a.log")" >&2; exit 1; }
for s in ${SETUPS//,/ }; do
	case $s in
	local) setup_local ;;
	wire) setup_wire ;;
	s2s) setup_s2s ;;
	stack) setup_stack ;;
	*) echo "bench/run.sh: unknown setup $s" >&2 ;;
	esac
done
ustackd_down a
/usr/bin/python3 bench/report.py "$RAW" "$OUT" "$RUNS runs of ${SECS} s, $(nproc) cores, $(git describe --always --dirty)"
