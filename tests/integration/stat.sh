#!/usr/bin/env bash
# `ustack stat` through the control socket lists ustack's sockets like
# `ss -tanu` - listeners, a live TCP connection from the kernel, the UDP
# socket - and the counters.
. "$(dirname "$0")/lib.sh"

ust_up --services all
in_ns /usr/bin/python3 -c "
import socket, time
s = socket.create_connection(('$UST_IP', 7))
s.sendall(b'hello')
assert s.recv(5) == b'hello'
print(s.getsockname()[1], flush=True)
time.sleep(3)
" >"$WORK/client.txt" &
client=$!
for _ in $(seq 50); do [ -s "$WORK/client.txt" ] && break; sleep 0.1; done
port=$(cat "$WORK/client.txt")
[ -n "$port" ] || fail "the kernel client did not connect"
# The kernel may delay its ACK of the echo (RFC 1122: up to 500 ms, Linux
# 40 ms); until it comes the echo counts in Send-Q, so ask again a while.
for _ in $(seq 20); do
	"$UST_CLI" --ctl "$WORK/ctl.sock" stat >"$WORK/stat.txt" || fail "ustack stat: $(cat "$WORK/stat.txt")"
	grep -Eq "^tcp +ESTAB +0 +0 " "$WORK/stat.txt" && break
	sleep 0.1
done
sed 's/^/  /' "$WORK/stat.txt"
# The services are dual-stack sockets on [::]: IPv4 peers show as mapped
# addresses, as `ss` shows them.
grep -Eq "^tcp +LISTEN +0 +128 +\[::\]:7 " "$WORK/stat.txt" || fail "no TCP listener on port 7"
grep -Eq "^tcp +LISTEN .* \[::\]:19 " "$WORK/stat.txt" || fail "no TCP listener on port 19"
grep -Eq "^tcp +ESTAB +0 +0 +\[::ffff:$UST_IP\]:7 +\[::ffff:$PEER_IP\]:$port" "$WORK/stat.txt" ||
	fail "the kernel's connection from port $port is not listed as ESTAB"
grep -Eq "^udp +UNCONN .* \[::\]:7 " "$WORK/stat.txt" || fail "no UDP socket on port 7"
grep -q "sockets: tcp 4 udp 1" "$WORK/stat.txt" || fail "socket totals"
grep -Eq "^  TCP passive opens +1$" "$WORK/stat.txt" || fail "counters missing"
wait "$client"
ust_stop
echo PASS
