#!/usr/bin/env bash
# Unmodified epoll servers from Debian packages on ustack (LD_PRELOAD):
# redis-server, memcached with 4 threads, lighttpd. Each runs with its own
# config in this test's directory and its own port; clients are on the
# kernel side of net_tap (in the namespace) and under preload on the same
# ustackd over 127.0.0.1. Every value and file is read back and compared.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"
for p in redis-server redis-cli redis-benchmark memcached memccp memccat lighttpd; do
	command -v "$p" >/dev/null || fail "$p is missing — run tools/deps.sh"
done

ust_up
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; ust_cleanup' EXIT

# Wait until a kernel client in the namespace gets through to port $1.
wait_port() {
	for _ in $(seq 100); do
		in_ns bash -c "echo >/dev/tcp/$UST_IP/$1" 2>/dev/null && return
		sleep 0.1
	done
	fail "nothing listens on ustack port $1"
}

sha() { sha256sum | cut -d' ' -f1; }

# --- redis ---------------------------------------------------------------
cat >"$WORK/redis.conf" <<EOF
bind 0.0.0.0
port 6380
protected-mode no
daemonize no
dir $WORK
dbfilename dump.rdb
logfile $WORK/redis.log
save ""
appendonly no
EOF
ust_bg redis-server "$WORK/redis.conf"
REDIS=$!
PIDS+=("$REDIS")
wait_port 6380
kcli() { in_ns redis-cli -h "$UST_IP" -p 6380 "$@"; }
ucli() { ust_run redis-cli -h 127.0.0.1 -p 6380 "$@"; }
[ "$(kcli set from-kernel hello)" = OK ] || fail "redis: SET from the kernel side"
[ "$(ucli get from-kernel)" = hello ] || fail "redis: GET under preload does not read the kernel's value"
[ "$(ucli set from-ustack world)" = OK ] || fail "redis: SET under preload"
[ "$(kcli get from-ustack)" = world ] || fail "redis: GET from the kernel does not read ustack's value"
head -c 1000000 /dev/urandom | base64 -w0 >"$WORK/big.txt"
kcli -x set big <"$WORK/big.txt" >/dev/null || fail "redis: SET of 1.3 MB"
[ "$(ucli --raw get big | tr -d '\n' | sha)" = "$(sha <"$WORK/big.txt")" ] ||
	fail "redis: the 1.3 MB value read under preload differs"
echo "ok: redis values written and read back from both sides (1.3 MB included)"

for side in kernel ustack; do
	for pipe in 1 16; do
		if [ $side = kernel ]; then
			out=$(in_ns redis-benchmark -h "$UST_IP" -p 6380 -t set,get -n 20000 -P $pipe -q --csv) ||
				fail "redis-benchmark -P $pipe from the kernel"
		else
			out=$(ust_run redis-benchmark -h 127.0.0.1 -p 6380 -t set,get -n 20000 -P $pipe -q --csv) ||
				fail "redis-benchmark -P $pipe under preload"
		fi
		echo "$out" | grep -q '^"SET"' && echo "$out" | grep -q '^"GET"' ||
			fail "redis-benchmark -P $pipe ($side): no SET/GET result: $out"
		echo "ok: redis-benchmark SET/GET -P $pipe from $side: $(echo "$out" | awk -F'"' '/^"(SET|GET)"/ {printf "%s %s/s ", $2, $4}')"
	done
done

# BGSAVE while a kernel client loads the server: the forked child writes
# the file and leaves the parent's clients alone.
in_ns redis-benchmark -h "$UST_IP" -p 6380 -t set -n 50000 -c 8 -r 10000 -q --csv >"$WORK/load.out" 2>&1 &
LOAD=$!
sleep 0.5
[ "$(kcli bgsave)" = "Background saving started" ] || fail "redis: BGSAVE did not start"
for _ in $(seq 100); do
	kcli info persistence | grep -q '^rdb_bgsave_in_progress:0' && break
	sleep 0.1
done
kcli info persistence | grep -q '^rdb_last_bgsave_status:ok' || fail "redis: BGSAVE failed"
wait $LOAD || fail "redis: the load during BGSAVE failed: $(cat "$WORK/load.out")"
grep -q '^"SET"' "$WORK/load.out" || fail "redis: the load during BGSAVE did not finish"
[ -s "$WORK/dump.rdb" ] || fail "redis: BGSAVE wrote no dump"
[ "$(ucli get from-kernel)" = hello ] || fail "redis: after BGSAVE the values are gone"
echo "ok: redis BGSAVE during a load of 50000 SETs from 8 clients"
kcli shutdown nosave >/dev/null 2>&1 || true
wait "$REDIS" 2>/dev/null || true

# --- memcached, 4 threads --------------------------------------------------
ust_bg memcached -p 11212 -U 0 -l 0.0.0.0 -t 4 -m 64 -u root
MC=$!
PIDS+=("$MC")
wait_port 11212
mkdir -p "$WORK/mc-k" "$WORK/mc-u" "$WORK/mc-in"
# memccat prints a value and a newline.
for i in 1 2 3 4 5 6 7 8; do head -c $((i * 50000)) /dev/urandom >"$WORK/mc-in/f$i"; done
for i in 1 2 3 4 5 6 7 8; do (cat "$WORK/mc-in/f$i"; echo) >"$WORK/mc-in/f$i.out"; done
(cd "$WORK/mc-in" && in_ns memccp --servers="$UST_IP:11212" f1 f2 f3 f4) || fail "memccp from the kernel"
(cd "$WORK/mc-in" && ust_run memccp --servers=127.0.0.1:11212 f5 f6 f7 f8) || fail "memccp under preload"
for i in 1 2 3 4 5 6 7 8; do
	ust_run memccat --servers=127.0.0.1:11212 "f$i" >"$WORK/mc-u/f$i" || fail "memccat f$i under preload"
	in_ns memccat --servers="$UST_IP:11212" "f$i" >"$WORK/mc-k/f$i" || fail "memccat f$i from the kernel"
	cmp -s "$WORK/mc-in/f$i.out" "$WORK/mc-u/f$i" || fail "memcached: f$i read under preload differs"
	cmp -s "$WORK/mc-in/f$i.out" "$WORK/mc-k/f$i" || fail "memcached: f$i read from the kernel differs"
done
# Several clients at once, so the 4 worker threads share the work.
CLIENTS=()
for i in 1 2 3 4 5 6 7 8; do
	in_ns memccat --servers="$UST_IP:11212" "f$i" >"$WORK/mc-k/p$i" &
	CLIENTS+=($!)
done
for c in "${CLIENTS[@]}"; do wait "$c" || fail "memccat: a concurrent client failed"; done
for i in 1 2 3 4 5 6 7 8; do
	cmp -s "$WORK/mc-in/f$i.out" "$WORK/mc-k/p$i" || fail "memcached: f$i read by concurrent clients differs"
done
echo "ok: memcached -t 4: 8 values (50-400 kB) stored and read back from both sides, 8 clients at once"
kill "$MC"
wait "$MC" 2>/dev/null || true

# --- lighttpd ---------------------------------------------------------------
mkdir -p "$WORK/www"
head -c 20000000 /dev/urandom >"$WORK/www/big"
cat >"$WORK/lighttpd.conf" <<EOF
server.document-root = "$WORK/www"
server.bind = "0.0.0.0"
server.port = 8081
server.errorlog = "$WORK/lighttpd.err"
server.pid-file = "$WORK/lighttpd.pid"
mimetype.assign = ( "" => "application/octet-stream" )
EOF
ust_bg lighttpd -D -f "$WORK/lighttpd.conf"
LH=$!
PIDS+=("$LH")
wait_port 8081
want=$(sha <"$WORK/www/big")
[ "$(in_ns curl -sS --max-time 60 "http://$UST_IP:8081/big" | sha)" = "$want" ] ||
	fail "lighttpd: the 20 MB file fetched from the kernel differs"
[ "$(ust_run curl -sS --max-time 60 http://127.0.0.1:8081/big | sha)" = "$want" ] ||
	fail "lighttpd: the 20 MB file fetched under preload differs"
slice=$(dd if="$WORK/www/big" bs=1000000 skip=1 count=3 status=none | sha)
[ "$(in_ns curl -sS --max-time 60 -r 1000000-3999999 "http://$UST_IP:8081/big" | sha)" = "$slice" ] ||
	fail "lighttpd: the Range request from the kernel gives other bytes"
[ "$(ust_run curl -sS --max-time 60 -r 1000000-3999999 http://127.0.0.1:8081/big | sha)" = "$slice" ] ||
	fail "lighttpd: the Range request under preload gives other bytes"
code=$(in_ns curl -sS -o /dev/null -w '%{http_code}' -r 1000000-3999999 "http://$UST_IP:8081/big")
[ "$code" = 206 ] || fail "lighttpd: the Range request answered $code, not 206"
echo "ok: lighttpd 20 MB file and a 3 MB Range (206) from both sides, hashes equal"
kill "$LH"
wait "$LH" 2>/dev/null || true
echo PASS
