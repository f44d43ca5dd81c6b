#!/usr/bin/env bash
# Faults around the preload layer: ustackd killed under a program, a program
# killed under ustackd, and rights checked from credentials.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"

stat_lines() { "$UST_CLI" --ctl "$WORK/ctl.sock" stat | awk '/^(tcp|udp) / && $2 != "TIME-WAIT"' | wc -l; }

ust_up
# An unprivileged program binding port 80 gets EACCES, decided by ustackd
# from its credentials; port 8080 is fine. The kernel says the same.
chmod 755 "$WORK"
bind_as_nobody='import socket,sys
s = socket.socket()
try:
    s.bind(("0.0.0.0", int(sys.argv[1]))); print("bound")
except OSError as e:
    print(__import__("errno").errorcode[e.errno])'
got=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$UST_PRELOAD" \
	USTACK_CTL="$WORK/ctl.sock" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
	/usr/bin/python3 -c "$bind_as_nobody" 80)
kernel=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c "$bind_as_nobody" 80)
[ "$got" = EACCES ] && [ "$kernel" = EACCES ] || fail "nobody binding port 80: ustack $got, kernel $kernel"
got=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$UST_PRELOAD" \
	USTACK_CTL="$WORK/ctl.sock" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
	/usr/bin/python3 -c "$bind_as_nobody" 8080)
[ "$got" = bound ] || fail "nobody binding port 8080: $got"
got=$(ust_run /usr/bin/python3 -c "$bind_as_nobody" 80)
[ "$got" = bound ] || fail "root binding port 80: $got"
echo "ok: port 80 is EACCES for nobody (as the kernel says), allowed for root; 8080 for anyone"
raw=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$UST_PRELOAD" \
	USTACK_CTL="$WORK/ctl.sock" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
	/usr/bin/python3 -c 'import socket,errno
try: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print("opened")
except OSError as e: print(errno.errorcode[e.errno])')
[ "$raw" = EPERM ] || fail "nobody opening SOCK_RAW: $raw"
echo "ok: SOCK_RAW is EPERM for nobody"

# kill -9 of a program mid-transfer: as on Linux, the kernel closes the dead
# process's fds, so the peer gets the queued bytes and a FIN (not a reset),
# and ustackd's socket count returns to what it was.
base=$(stat_lines)
in_ns /usr/bin/python3 -c '
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 5010)); l.listen(1)
c, _ = l.accept(); c.settimeout(10)
try:
    while c.recv(65536): pass
    print("EOF")
except ConnectionResetError: print("RESET")
except socket.timeout: print("TIMEOUT")' "$PEER_IP" >"$WORK/peer.out" &
PEER=$!
sleep 0.3
ust_run socat -u OPEN:/dev/zero TCP:"$PEER_IP":5010 &
for _ in $(seq 50); do [ "$(stat_lines)" -gt "$base" ] && break; sleep 0.1; done
[ "$(stat_lines)" -gt "$base" ] || fail "the victim's connection never showed in ustack stat"
sleep 0.5
pkill -9 -f "socat -u OPEN:/dev/zero TCP:$PEER_IP:5010"
wait $PEER
[ "$(cat "$WORK/peer.out")" = EOF ] || fail "the peer of a killed program saw $(cat "$WORK/peer.out")"
for _ in $(seq 20); do [ "$(stat_lines)" -eq "$base" ] && break; sleep 0.1; done
[ "$(stat_lines)" -eq "$base" ] || fail "sockets of the killed program remain: $("$UST_CLI" --ctl "$WORK/ctl.sock" stat | head)"
echo "ok: kill -9 of a program: its peer saw EOF, ustackd's sockets back to $base"

# kill -9 of ustackd mid-transfer: the program gets an error within a
# second and exits.
ip netns exec "$NS" socat -u OPEN:/dev/zero TCP-LISTEN:5011,reuseaddr &
SRC=$!
trap 'kill $SRC 2>/dev/null || true; ust_cleanup' EXIT
sleep 0.3
ust_run /usr/bin/python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 5011))
n = 0
try:
    while True:
        d = s.recv(65536)
        if not d: print("EOF"); break
        n += len(d)
        if n > 1000000: open(sys.argv[2], "w").write("flowing")
except OSError as e:
    print(__import__("errno").errorcode[e.errno], time.monotonic())' "$PEER_IP" "$WORK/flowing" >"$WORK/app.out" 2>&1 &
APP=$!
for _ in $(seq 100); do [ -f "$WORK/flowing" ] && break; sleep 0.1; done
[ -f "$WORK/flowing" ] || fail "the transfer never started: $(cat "$WORK/app.out")"
# A server that keeps its sockets after ustackd died (nginx's workers,
# dnsmasq) must sleep in its waits, not spin: epoll and poll each report a
# dead listener once (IN|ERR|HUP), accept() fails, and the next wait sleeps
# its whole timeout with nothing to report.
cat >"$WORK/orphan.py" <<'PY'
import errno, select, socket, sys
def listener(port):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen()
    return s
def names(ev):
    return "|".join(n for n, b in (("IN", select.POLLIN), ("ERR", select.POLLERR), ("HUP", select.POLLHUP)) if ev & b)
def accept(s):
    try:
        s.accept()
        return "accepted"
    except OSError as e:
        return errno.errorcode[e.errno]
a, b = listener(5013), listener(5014)
ep = select.epoll()
ep.register(a.fileno(), select.EPOLLIN)
pl = select.poll()
pl.register(b.fileno(), select.POLLIN)
open(sys.argv[1], "w").write("waiting")
print("epoll:", [names(ev) for _, ev in ep.poll(30)], "accept:", accept(a), "again:", ep.poll(0.3))
print("poll:", [names(ev) for _, ev in pl.poll(0)], "accept:", accept(b), "again:", pl.poll(300))
PY
ust_run /usr/bin/python3 "$WORK/orphan.py" "$WORK/orphan-waiting" >"$WORK/orphan.out" 2>&1 &
ORPHAN=$!
for _ in $(seq 100); do [ -f "$WORK/orphan-waiting" ] && break; sleep 0.1; done
[ -f "$WORK/orphan-waiting" ] || fail "the epoll/poll program did not start: $(cat "$WORK/orphan.out")"
t0=$(/usr/bin/python3 -c 'import time; print(time.monotonic())')
kill -9 "$UST_PID"
wait "$UST_PID" 2>/dev/null || true
UST_PID=
for _ in $(seq 30); do kill -0 $APP 2>/dev/null || break; sleep 0.1; done
kill -0 $APP 2>/dev/null && fail "the program still runs 3 s after ustackd died"
read -r err t1 <"$WORK/app.out" || true
case "$err" in ECONNRESET | EPIPE | ENOTCONN) ;; *) fail "after ustackd died the program said: $(cat "$WORK/app.out")" ;; esac
late=$(/usr/bin/python3 -c "print(float('$t1') - float('$t0') < 1.0)")
[ "$late" = True ] || fail "the error came $(/usr/bin/python3 -c "print(float('$t1') - float('$t0'))") s after ustackd died"
echo "ok: kill -9 of ustackd: the program got $err within a second and exited"
wait $ORPHAN || fail "the epoll/poll program after ustackd died: $(cat "$WORK/orphan.out")"
want="epoll: ['IN|ERR|HUP'] accept: ECONNABORTED again: []
poll: ['IN|ERR|HUP'] accept: ECONNABORTED again: []"
[ "$(cat "$WORK/orphan.out")" = "$want" ] || fail "after ustackd died, epoll and poll said: $(cat "$WORK/orphan.out")"
echo "ok: after ustackd died, epoll and poll reported a listener once (IN|ERR|HUP), accept failed, the next waits slept"
echo PASS
