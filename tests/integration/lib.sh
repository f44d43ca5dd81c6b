# Shared by the integration tests: ustackd on net_tap, the tap moved into a
# network namespace as the kernel peer, cleaned up by a trap even on failure.
# Source it, then call ust_up [ustackd options...]. Needs root.
#   UST_BIN   path of ustackd (meson passes it)
#   NS        the namespace (kernel side), 198.18.0.1/24
#   IF        the tap, ustack is 198.18.0.2/24
set -euo pipefail

UST_IP=198.18.0.2
PEER_IP=198.18.0.1
name=${UST_TEST_NAME:-$(basename "$0" .sh)}
# The build directory is part of the tag, so two checkouts (or two builds)
# can run the same test at once without sharing a namespace or a tap.
tag=$(printf '%s %s' "$name" "$(dirname "$(realpath "${UST_BIN:-.}")")" | md5sum | cut -c1-6)
NS=ustns-$tag
IF=ust$tag
WORK=$(mktemp -d /tmp/ustack-it-XXXXXX)
UST_PID=
CAP_PID=

fail() {
	echo "FAIL: $*" >&2
	[ -f "$WORK/ustackd.log" ] && sed 's/^/  ustackd| /' "$WORK/ustackd.log" >&2
	exit 1
}

ust_cleanup() {
	set +e
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	if [ -n "$UST_PID" ] && kill -0 "$UST_PID" 2>/dev/null; then
		kill -INT "$UST_PID"
		for _ in $(seq 50); do kill -0 "$UST_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$UST_PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	ip link del "$IF" 2>/dev/null
	rm -rf "$WORK"
}
trap ust_cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "needs root (netns, net_tap)" >&2; exit 1; }
[ -x "${UST_BIN:-}" ] || { echo "UST_BIN must point at ustackd" >&2; exit 1; }

# Start ustackd with this test's lock and control socket and wait until it
# is up. Arguments go to ustackd.
ust_start() {
	"$UST_BIN" --lock "$WORK/ustackd.lock" --ctl "$WORK/ctl.sock" "$@" >"$WORK/ustackd.log" 2>&1 &
	UST_PID=$!
	for _ in $(seq 100); do
		grep -q '^ustackd: up' "$WORK/ustackd.log" 2>/dev/null && return
		kill -0 "$UST_PID" 2>/dev/null || fail "ustackd exited during start"
		sleep 0.1
	done
	fail "ustackd did not come up"
}

# Start ustackd on a tap and wire the tap into $NS (created here unless a
# test made it first, e.g. to have a listener ready). Arguments go to ustackd.
ust_up() {
	ust_start --vdev "net_tap0,iface=$IF" --ip "$UST_IP/24" "$@"
	UST_MAC=$(sed -n 's/^ustackd: up .* mac \([0-9a-f:]*\) .*/\1/p' "$WORK/ustackd.log")
	ip netns add "$NS" 2>/dev/null || true
	ip link set "$IF" netns "$NS"
	ip -n "$NS" addr add "$PEER_IP/24" dev "$IF"
	ip -n "$NS" link set "$IF" up
	ip -n "$NS" link set lo up
}

# Capture everything on the tap (kernel side) into $WORK/cap.pcap; CAP_IF=any
# captures in $NS before the tap has arrived there.
cap_start() {
	ip netns exec "$NS" tcpdump -i "${CAP_IF:-$IF}" -U -w "$WORK/cap.pcap" -s 0 "$@" >/dev/null \
		2>"$WORK/tcpdump.log" &
	CAP_PID=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && return
		sleep 0.1
	done
	fail "tcpdump did not start: $(cat "$WORK/tcpdump.log")"
}

cap_stop() {
	sleep 0.5
	kill "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
	CAP_PID=
}

# tshark's expert analysis must find nothing malformed and no bad checksum.
cap_check_clean() {
	local bad
	bad=$(tshark -r "$WORK/cap.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-o tcp.check_checksum:TRUE \
		-Y '_ws.malformed || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad"' \
		2>/dev/null | sed -n 1,5p)
	[ -z "$bad" ] || fail "tshark flags packets on the wire: $bad"
	local n
	n=$(tshark -r "$WORK/cap.pcap" 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || fail "the capture is empty"
	echo "capture: $n frames, none malformed, no bad checksum"
}

# The window scale Linux offers for a buffer of $1 bytes at most
# (tcp_select_initial_window: ilog2(space) - 15, within 0..14).
wscale_for() {
	local space=$1 bits=0
	while [ "$space" -gt 1 ]; do space=$((space / 2)); bits=$((bits + 1)); done
	echo $((bits - 15 < 0 ? 0 : (bits - 15 > 14 ? 14 : bits - 15)))
}

in_ns() {
	ip netns exec "$NS" "$@"
}

# Wait until a command succeeds: polled every 0.1 s for up to $1 seconds (a
# loaded host starts programs slowly), then fail() naming $2.
wait_until() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "waited ${secs} s for $what"
}

# ustackd's counter line value (0 when absent) after it printed them (stop).
ust_stop() {
	kill -INT "$UST_PID"
	for _ in $(seq 50); do kill -0 "$UST_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$UST_PID" 2>/dev/null && fail "ustackd did not stop on SIGINT"
	wait "$UST_PID" || fail "ustackd exited with an error"
	UST_PID=
}

counter() {
	local v
	v=$(grep -F "  $1 " "$WORK/ustackd.log" | awk '{print $NF}' | tail -1)
	echo "${v:-0}"
}

# Run a program with its sockets on this test's ustackd (UST_PRELOAD is the
# LD_PRELOAD value meson passes: libustack.so, after the sanitizer runtimes
# in a sanitizer build).
ust_run() {
	env LD_PRELOAD="$UST_PRELOAD" USTACK_CTL="$WORK/ctl.sock" \
		ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 "$@"
}

# ust_run in the background, with $! the program itself (env execs it), so
# a trap can kill it.
ust_bg() {
	env LD_PRELOAD="$UST_PRELOAD" USTACK_CTL="$WORK/ctl.sock" \
		ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 "$@" &
}

# nginx from Debian on this test's ustackd: daemon, master + 2 workers
# accepting on the master's listener at port 8080 (epoll, sendfile on),
# serving $WORK/www; NGINX_PID is the master. NGINX_LISTEN, when set, is the
# listen directive's argument instead (the port stays 8080). nginx_kill (for
# a trap) ends it and its workers.
NGINX_PID=
nginx_up() {
	mkdir -p "$WORK/www" "$WORK/nginx-tmp"
	cat >"$WORK/nginx.conf" <<-CONF
	daemon on;
	master_process on;
	worker_processes 2;
	pid $WORK/nginx.pid;
	error_log $WORK/nginx-error.log notice;
	events { worker_connections 256; }
	http {
		access_log off;
		sendfile on;
		client_body_temp_path $WORK/nginx-tmp/body;
		proxy_temp_path $WORK/nginx-tmp/proxy;
		fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
		uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
		scgi_temp_path $WORK/nginx-tmp/scgi;
		server {
			listen ${NGINX_LISTEN:-8080};
			root $WORK/www;
		}
	}
	CONF
	chmod -R a+rX "$WORK"
	ust_run nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" ||
		fail "nginx did not start: $(cat "$WORK/nginx-error.log")"
	for _ in $(seq 100); do
		"$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*:8080 " && break
		sleep 0.1
	done
	NGINX_PID=$(cat "$WORK/nginx.pid")
	local workers
	workers=$(pgrep -P "$NGINX_PID" | wc -l)
	[ "$workers" -eq 2 ] || fail "nginx has $workers workers, not 2"
}

nginx_kill() {
	[ -n "$NGINX_PID" ] || return 0
	# A master that sees a worker die starts another: stop it first, so the
	# workers killed are all there are.
	kill -STOP "$NGINX_PID" 2>/dev/null
	pkill -9 -P "$NGINX_PID" 2>/dev/null
	kill -9 "$NGINX_PID" 2>/dev/null
	NGINX_PID=
}

# wrk (2 threads, 8 keep-alive connections) from the kernel side or from
# ustack at URL, until each thread had N answers, every body compared with
# FILE by tests/integration/wrk_verify.lua; the report is in $WORK/wrk.log,
# WRK_GOOD the answers checked. Nothing may fail. (wrk counts an answer
# later than --timeout as an error: 1 MiB to each of 8 connections on a
# busy 2-core machine can take seconds, and is still no error.)
wrk_count() { # kernel|ustack URL FILE N
	local marks=$WORK/wrk-marks
	rm -rf "$marks" && mkdir "$marks"
	local args=(wrk -t 2 -c 8 -d 900 --timeout 30 -s "$(dirname "$0")/wrk_verify.lua" "$2" -- "$3" "$4" "$marks")
	if [ "$1" = kernel ]; then ip netns exec "$NS" "${args[@]}" >"$WORK/wrk.log" 2>&1 &
	else ust_bg "${args[@]}" >"$WORK/wrk.log" 2>&1; fi
	local pid=$! n=0 bad
	for _ in $(seq 6000); do
		n=$(find "$marks" -type f | wc -l)
		[ "$n" -ge 2 ] || ! kill -0 $pid 2>/dev/null && break
		sleep 0.1
	done
	kill -INT $pid 2>/dev/null
	wait $pid || fail "$1 wrk of $2: $(cat "$WORK/wrk.log")"
	[ "$n" -ge 2 ] || fail "$1 wrk of $2: not $((2 * $4)) answers in 10 minutes: $(cat "$WORK/wrk.log")"
	grep -q "Socket errors\|Non-2xx" "$WORK/wrk.log" && fail "$1 wrk of $2 saw errors: $(cat "$WORK/wrk.log")"
	read -r WRK_GOOD bad <<<"$(sed -n 's/^verified \([0-9]*\) mismatched \([0-9]*\)$/\1 \2/p' "$WORK/wrk.log")"
	[ "${WRK_GOOD:-0}" -ge $((2 * $4)) ] && [ "$bad" -eq 0 ] || fail "$1 wrk of $2: $(cat "$WORK/wrk.log")"
}
