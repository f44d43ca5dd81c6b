#!/usr/bin/env bash
# dnsmasq from Debian, unmodified, its sockets on ustack, in its normal mode:
# it enumerates the host's interfaces with ioctls on one of them, becomes a
# daemon (forks, drops to nobody) and forks a child for each TCP query. It
# answers UDP and TCP queries with its own records: dig from the kernel side
# of net_tap, and from ustack over 127.0.0.1 dig over UDP (libuv's
# syscall(SYS_sendmmsg/SYS_recvmmsg)) and TCP, and python's sockets over UDP
# and TCP.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"
command -v dnsmasq >/dev/null || fail "dnsmasq is missing — run tools/deps.sh (package dnsmasq-base)"
command -v dig >/dev/null || fail "dig is missing — run tools/deps.sh (package dnsutils)"
DNSQ=$(dirname "$0")/dnsq.py

ust_up
DNSMASQ=
trap '[ -n "$DNSMASQ" ] && kill $DNSMASQ 2>/dev/null; ust_cleanup' EXIT
# The daemon is nobody after it drops root: its TCP children must reach
# ustackd's control socket.
chmod a+rX "$WORK"
ust_run dnsmasq --conf-file=/dev/null --port=5353 --bind-interfaces --pid-file="$WORK/dnsmasq.pid" \
	--listen-address="$UST_IP" --listen-address=127.0.0.1 --no-resolv --no-hosts \
	--host-record=ustack.test,198.18.7.7 --txt-record=txt.ustack.test,"$(printf 'x%.0s' $(seq 200))" \
	--log-facility="$WORK/dnsmasq.log" --log-queries 2>"$WORK/dnsmasq.err" ||
	fail "dnsmasq did not start: $(cat "$WORK/dnsmasq.err")"
for _ in $(seq 100); do [ -s "$WORK/dnsmasq.pid" ] && break; sleep 0.1; done
DNSMASQ=$(cat "$WORK/dnsmasq.pid")
kill -0 "$DNSMASQ" || fail "the dnsmasq daemon is not running: $(cat "$WORK/dnsmasq.err")"
[ "$(ps -o user= -p "$DNSMASQ")" = nobody ] || fail "dnsmasq runs as $(ps -o user= -p "$DNSMASQ")"
for _ in $(seq 100); do
	[ "$("$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -c "LISTEN .*:5353 ")" -eq 2 ] && break
	sleep 0.1
done
"$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*$UST_IP:5353 " ||
	fail "dnsmasq has no TCP listener on ustack: $(cat "$WORK/dnsmasq.err")"

a=$(in_ns dig +short +time=3 +tries=2 -p 5353 @"$UST_IP" ustack.test A)
[ "$a" = "198.18.7.7" ] || fail "kernel dig over UDP: '$a'"
for i in 1 2 3 4; do
	in_ns dig +short +tcp +time=3 +tries=2 -p 5353 @"$UST_IP" ustack.test A >"$WORK/tcp$i" &
	eval "D$i=\$!"
done
for i in 1 2 3 4; do
	eval "wait \$D$i" || fail "kernel dig over TCP ($i of 4 at once)"
	[ "$(cat "$WORK/tcp$i")" = "198.18.7.7" ] || fail "kernel dig over TCP ($i): '$(cat "$WORK/tcp$i")'"
done
t=$(in_ns dig +short +tcp +time=3 +tries=2 -p 5353 @"$UST_IP" txt.ustack.test TXT | tr -d '" ')
[ "${#t}" -eq 200 ] || fail "kernel dig TXT over TCP: ${#t} characters"
echo "ok: daemon dnsmasq (as nobody, a child per TCP query) to the kernel's dig: UDP, 4 TCP queries at once, a 200-byte TXT over TCP"

a=$(ust_run dig +short +time=3 +tries=2 -p 5353 @127.0.0.1 ustack.test A)
[ "$a" = "198.18.7.7" ] || fail "ustack dig over UDP: '$a'"
a=$(ust_run dig +short +tcp +time=3 +tries=2 -p 5353 @127.0.0.1 ustack.test A)
[ "$a" = "198.18.7.7" ] || fail "ustack dig over TCP: '$a'"
for proto in udp tcp; do
	a=$(ust_run python3 "$DNSQ" 127.0.0.1 5353 ustack.test $proto) || fail "ustack python3 query over $proto"
	[ "$a" = "198.18.7.7" ] || fail "ustack python3 query over $proto: '$a'"
done
echo "ok: daemon dnsmasq to ustack over 127.0.0.1: dig over UDP and TCP, python3 over UDP and TCP"
n=$(grep -c 'query\[' "$WORK/dnsmasq.log" || true)
[ "$n" -ge 10 ] || fail "dnsmasq logged $n queries, not 10"
kill "$DNSMASQ"
for _ in $(seq 50); do kill -0 "$DNSMASQ" 2>/dev/null || break; sleep 0.1; done
DNSMASQ=
sleep 0.2
left=$("$UST_CLI" --ctl "$WORK/ctl.sock" stat | awk '/^(tcp|udp) / && $2 != "TIME-WAIT"')
[ -z "$left" ] || fail "sockets left after dnsmasq stopped: $left"
echo PASS
