#!/usr/bin/env bash
# The echo scenarios through libustack.so (examples/echo.c, plain POSIX):
# both ends preloaded on one ustackd (its own address and 127.0.0.1), then
# each end against the kernel over net_tap. TCP and UDP; every byte checked.
. "$(dirname "$0")/lib.sh"
# Our own programs: the library built like them (see meson.build).
UST_PRELOAD=${UST_PRELOAD_OWN:-${UST_PRELOAD:-}}
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"
[ -x "${UST_ECHO:-}" ] || fail "UST_ECHO must point at examples/echo"

ust_up
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; ust_cleanup' EXIT

wait_listen() { # proto port
	for _ in $(seq 50); do
		"$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -Eq "^$1 .* [0-9.]+:$2 " && return
		sleep 0.1
	done
	fail "nothing listens on ustack $1 port $2"
}

ust_bg "$UST_ECHO" server tcp 7000 >/dev/null
PIDS+=($!)
ust_bg "$UST_ECHO" server udp 7000 >/dev/null
PIDS+=($!)
wait_listen tcp 7000
wait_listen udp 7000

for host in "$UST_IP" 127.0.0.1; do
	out=$(ust_run "$UST_ECHO" client tcp "$host" 7000 300 1000) || fail "tcp to $host: $out"
	echo "ok: both ends on ustack, tcp via $host: $out of 1000 bytes"
	out=$(ust_run "$UST_ECHO" client tcp "$host" 7000 20 200000) || fail "tcp big to $host: $out"
	echo "ok: both ends on ustack, tcp via $host: $out of 200 kB"
	out=$(ust_run "$UST_ECHO" client udp "$host" 7000 300 512) || fail "udp to $host: $out"
	echo "ok: both ends on ustack, udp via $host: $out of 512 bytes"
done

# Four clients at once: the server's threads share one process's channels.
for i in 1 2 3 4; do
	ust_bg "$UST_ECHO" client tcp "$UST_IP" 7000 100 20000 >"$WORK/c$i.out" 2>&1
	PIDS+=($!)
	eval "C$i=\$!"
done
for i in 1 2 3 4; do
	eval "wait \$C$i" || fail "concurrent client $i: $(cat "$WORK/c$i.out")"
done
echo "ok: four concurrent tcp clients, 100 round trips of 20 kB each"

# The kernel asks the ustack server.
out=$(in_ns "$UST_ECHO" client tcp "$UST_IP" 7000 200 30000) || fail "kernel tcp client: $out"
echo "ok: kernel client -> ustack server, tcp: $out of 30 kB"
out=$(in_ns "$UST_ECHO" client udp "$UST_IP" 7000 200 1400) || fail "kernel udp client: $out"
echo "ok: kernel client -> ustack server, udp: $out of 1400 bytes"

# The ustack client asks a kernel server.
ip netns exec "$NS" "$UST_ECHO" server tcp 7001 >/dev/null &
PIDS+=($!)
ip netns exec "$NS" "$UST_ECHO" server udp 7001 >/dev/null &
PIDS+=($!)
sleep 0.3
out=$(ust_run "$UST_ECHO" client tcp "$PEER_IP" 7001 200 30000) || fail "ustack tcp client: $out"
echo "ok: ustack client -> kernel server, tcp: $out of 30 kB"
out=$(ust_run "$UST_ECHO" client udp "$PEER_IP" 7001 200 1400) || fail "ustack udp client: $out"
echo "ok: ustack client -> kernel server, udp: $out of 1400 bytes"
echo PASS
