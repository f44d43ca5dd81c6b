#!/usr/bin/env bash
# Unmodified servers from Debian over IPv6 on ustack (LD_PRELOAD): nginx
# (master + 2 workers) listening on [::]:8080 dual stack (ipv6only=off)
# serving the kernel's curl -4 to ustack's IPv4 address and curl -6 to its
# IPv6 address, bodies compared; redis-server bound to ::1 with redis-cli
# under preload writing and reading back values over ::1.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"
for p in nginx curl redis-server redis-cli; do
	command -v "$p" >/dev/null || fail "$p is missing — run tools/deps.sh"
done
UST6=2001:2::2
PEER6=2001:2::1

ust_up --ip6 "$UST6/64"
in_ns ip addr add "$PEER6/64" dev "$IF" nodad
REDIS=
cleanup() {
	set +e
	nginx_kill
	[ -n "$REDIS" ] && kill -9 "$REDIS" 2>/dev/null
	ust_cleanup
}
trap cleanup EXIT

# --- nginx on [::]:8080, dual stack -------------------------------------
mkdir -p "$WORK/www"
head -c 1048576 /dev/urandom >"$WORK/www/big"
head -c 1000 /dev/urandom >"$WORK/www/small"
NGINX_LISTEN="[::]:8080 ipv6only=off" nginx_up
for ip in 4 6; do
	host=$UST_IP
	[ $ip = 6 ] && host="[$UST6]"
	for f in small big; do
		# ustack's IPv6 address is tentative (DAD) for a moment after start.
		ok=
		for _ in $(seq 100); do
			if in_ns curl -sS -$ip --max-time 20 -o "$WORK/curl$ip-$f" "http://$host:8080/$f" 2>"$WORK/curl.err"; then
				ok=1
				break
			fi
			sleep 0.1
		done
		[ -n "$ok" ] || fail "curl -$ip http://$host:8080/$f: $(cat "$WORK/curl.err")"
		cmp -s "$WORK/www/$f" "$WORK/curl$ip-$f" || fail "curl -$ip http://$host:8080/$f: the body differs"
	done
	echo "ok: nginx on [::]:8080 (ipv6only=off) under libustack.so served the kernel's curl -$ip at $host: 1000 B and 1 MiB, bodies equal"
done
# Both families reached the one dual-stack listener: no other listens.
lis=$("$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep 'LISTEN' | grep -c ':8080 ')
[ "$lis" -eq 1 ] || fail "ustack has $lis listeners on 8080, not the one dual-stack socket"
nginx_kill

# --- redis on ::1 -------------------------------------------------------
cat >"$WORK/redis.conf" <<CONF
bind ::1
port 6381
protected-mode no
daemonize no
dir $WORK
logfile $WORK/redis.log
save ""
appendonly no
CONF
ust_bg redis-server "$WORK/redis.conf"
REDIS=$!
wait_until 60 "redis-server's listener" bash -c "'$UST_CLI' --ctl '$WORK/ctl.sock' stat | grep -q 'LISTEN .*:6381 '"
ucli() { ust_run redis-cli -h ::1 -p 6381 "$@"; }
[ "$(ucli set v6key hello6)" = OK ] || fail "redis: SET over ::1"
[ "$(ucli get v6key)" = hello6 ] || fail "redis: GET over ::1 does not read the value back"
head -c 300000 /dev/urandom | base64 -w0 >"$WORK/big.txt"
ucli -x set big <"$WORK/big.txt" >/dev/null || fail "redis: SET of 400 kB over ::1"
[ "$(ucli get big)" = "$(cat "$WORK/big.txt")" ] || fail "redis: the 400 kB value read over ::1 differs"
# The client really is on ::1 of ustack: the server sees it as [::1].
ucli client list | grep -q 'addr=\[\?::1\]\?:' || fail "redis: the client is not seen from ::1: $(ucli client list)"
echo "ok: redis-server bound to ::1 under libustack.so, redis-cli under libustack.so wrote and read back values (400 kB included) over ::1"
kill -9 "$REDIS"
REDIS=

ust_stop
echo PASS
