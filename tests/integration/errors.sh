#!/usr/bin/env bash
# What a person gets wrong gets one line saying what to do, and a non-zero exit.
. "$(dirname "$0")/lib.sh"

expect_error() { # pattern, ustackd args...
	local pat=$1
	shift
	local out rc=0
	out=$("$UST_BIN" --lock "$WORK/err.lock" --ctl "$WORK/err.sock" "$@" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "ustackd $* succeeded"
	echo "$out" | grep -q -- "$pat" || fail "ustackd $*: expected '$pat', got: $out"
	echo "ok: ustackd $* -> $(echo "$out" | grep -- "$pat" | head -1)"
}

expect_error "not an IPv4 address/prefix" --vdev "net_tap0,iface=$IF" --ip 198.18.0.300/24
expect_error "not an IPv4 address/prefix" --vdev "net_tap0,iface=$IF" --ip 198.18.0.2
expect_error "not an IPv4 address" --vdev "net_tap0,iface=$IF" --ip 198.18.0.2/24 --gw nowhere
expect_error "no port given" --ip 198.18.0.2/24
expect_error "no address given" --vdev "net_tap0,iface=$IF"
expect_error "no such DPDK device" --vdev "net_nosuchdriver0" --ip 198.18.0.2/24
expect_error "unknown service" --vdev "net_tap0,iface=$IF" --ip 198.18.0.2/24 --services gopher

# Not root: run as nobody.
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$UST_BIN" --vdev "net_tap0,iface=$IF" \
	--ip 198.18.0.2/24 --lock "$WORK/nobody.lock" --ctl "$WORK/nobody.sock" 2>&1) &&
	fail "ustackd ran as nobody"
echo "$out" | grep -q "not root — run as root" || fail "as nobody: $out"
echo "ok: as nobody -> $out"

# A config file works like the command line, and its mistakes are named.
printf 'ip=198.18.0.2/24\nbogus=1\n' >"$WORK/bad.conf"
expect_error "unknown setting 'bogus'" --vdev "net_tap0,iface=$IF" --config "$WORK/bad.conf"
expect_error "$WORK/none.conf: No such file" --config "$WORK/none.conf"

# A second daemon on the same lock refuses to start.
printf '# ustack test\nip=%s/24\nservices=udp-echo\n' "$UST_IP" >"$WORK/good.conf"
ust_up --config "$WORK/good.conf"
grep -q "ip $UST_IP/24 mtu 1500 udp-echo" "$WORK/ustackd.log" || fail "config file not applied"
in_ns ping -c 1 -W 2 "$UST_IP" >/dev/null || fail "ping with a config file"
echo "ok: --config sets the address and services"
out=$("$UST_BIN" --vdev "net_tap1,iface=${IF}b" --ip 198.18.0.3/24 --lock "$WORK/ustackd.lock" 2>&1) &&
	fail "a second ustackd started on the same lock"
echo "$out" | grep -q "another ustackd (pid $UST_PID)" || fail "second daemon: $out"
echo "ok: second daemon -> $out"
# Another lock but the same control socket: the live daemon is detected.
out=$("$UST_BIN" --vdev "net_tap1,iface=${IF}c" --ip 198.18.0.3/24 --lock "$WORK/other.lock" \
	--ctl "$WORK/ctl.sock" 2>&1) && fail "a second ustackd started on the same control socket"
echo "$out" | grep -q "another ustackd is listening on $WORK/ctl.sock" || fail "second ctl: $out"
echo "ok: same control socket -> $(echo "$out" | grep another)"
ip link del "${IF}c" 2>/dev/null || true
ust_stop
out=$("$UST_CLI" --ctl "$WORK/ctl.sock" stat 2>&1) && fail "ustack stat worked with no daemon"
echo "$out" | grep -q "is ustackd running" || fail "ustack stat without daemon: $out"
echo "ok: ustack stat with no daemon -> $out"
echo PASS
