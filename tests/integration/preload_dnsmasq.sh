#!/usr/bin/env bash
# dnsmasq from Debian, unmodified, its sockets on ustack (it enumerates the
# host's interfaces with ioctls on one of them), answers dig's UDP and TCP
# queries from the kernel side of net_tap with its own records.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"
command -v dnsmasq >/dev/null || fail "dnsmasq is missing — run tools/deps.sh (package dnsmasq-base)"
command -v dig >/dev/null || fail "dig is missing — run tools/deps.sh (package dnsutils)"

ust_up
# --no-daemon: also serve TCP in this process (dnsmasq otherwise forks a
# child per TCP query, which needs sockets shared across fork).
ust_bg dnsmasq --no-daemon --conf-file=/dev/null --port=5353 --bind-interfaces \
	--listen-address="$UST_IP" --no-resolv --no-hosts \
	--host-record=ustack.test,198.18.7.7 --txt-record=txt.ustack.test,"$(printf 'x%.0s' $(seq 200))" \
	--log-facility="$WORK/dnsmasq.log" --log-queries 2>"$WORK/dnsmasq.err"
DNSMASQ=$!
trap 'kill $DNSMASQ 2>/dev/null || true; ust_cleanup' EXIT
for _ in $(seq 100); do "$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*:5353 " && break; sleep 0.1; done
kill -0 $DNSMASQ 2>/dev/null || fail "dnsmasq exited: $(cat "$WORK/dnsmasq.err")"
"$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*:5353 " ||
	fail "dnsmasq has no TCP listener on ustack: $(cat "$WORK/dnsmasq.err")"

a=$(in_ns dig +short +time=3 +tries=2 -p 5353 @"$UST_IP" ustack.test A)
[ "$a" = "198.18.7.7" ] || fail "dig over UDP: '$a'"
echo "ok: dig over UDP: ustack.test A $a"
a=$(in_ns dig +short +tcp +time=3 +tries=2 -p 5353 @"$UST_IP" ustack.test A)
[ "$a" = "198.18.7.7" ] || fail "dig over TCP: '$a'"
echo "ok: dig over TCP: ustack.test A $a"
t=$(in_ns dig +short +tcp +time=3 +tries=2 -p 5353 @"$UST_IP" txt.ustack.test TXT | tr -d '" ')
[ "${#t}" -eq 200 ] || fail "dig TXT over TCP: ${#t} characters"
echo "ok: dig over TCP: a 200-byte TXT record"
n=$(grep -c 'query\[' "$WORK/dnsmasq.log" || true)
[ "$n" -ge 3 ] || fail "dnsmasq logged $n queries"
kill $DNSMASQ
wait $DNSMASQ 2>/dev/null || true
echo PASS
