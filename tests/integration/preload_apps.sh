#!/usr/bin/env bash
# Unmodified programs from Debian packages with their sockets on ustack
# (LD_PRELOAD=libustack.so), talking to the kernel in the namespace; the
# data is checked byte for byte, and ustackd's counters prove it carried it.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"

ust_up
mkdir -p "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/blob"
in_ns /usr/bin/python3 -m http.server -d "$WORK/www" -b "$PEER_IP" 8080 >/dev/null 2>&1 &
HTTP_PID=$!
trap 'kill $HTTP_PID 2>/dev/null || true; ust_cleanup' EXIT
for _ in $(seq 50); do in_ns bash -c "echo >/dev/tcp/$PEER_IP/8080" 2>/dev/null && break; sleep 0.1; done

segs0=$("$UST_CLI" --ctl "$WORK/ctl.sock" stat | awk '/TCP segments received/ {print $NF}')
ust_run curl -sS --max-time 20 -o "$WORK/curl.out" "http://$PEER_IP:8080/blob" || fail "curl failed"
cmp -s "$WORK/www/blob" "$WORK/curl.out" || fail "curl: the 3 MB file differs"
segs1=$("$UST_CLI" --ctl "$WORK/ctl.sock" stat | awk '/TCP segments received/ {print $NF}')
[ "$((segs1 - ${segs0:-0}))" -gt 1000 ] || fail "curl's bytes did not cross ustack ($segs0 -> $segs1 segments)"
echo "ok: curl downloaded 3 MB through ustack ($((segs1 - ${segs0:-0})) segments in)"

ust_run wget -q -T 20 -O "$WORK/wget.out" "http://$PEER_IP:8080/blob" || fail "wget failed"
cmp -s "$WORK/www/blob" "$WORK/wget.out" || fail "wget: the file differs"
echo "ok: wget downloaded 3 MB through ustack"

# nc, ustack -> kernel and kernel -> ustack (a preloaded listener).
head -c 200000 /dev/urandom >"$WORK/up"
in_ns timeout 20 nc -l -p 5000 >"$WORK/nc-k.out" &
NCK=$!
sleep 0.3
ust_run timeout 20 nc -N "$PEER_IP" 5000 <"$WORK/up" || fail "nc client under preload"
wait $NCK || fail "kernel nc listener"
cmp -s "$WORK/up" "$WORK/nc-k.out" || fail "nc ustack->kernel: data differs"
echo "ok: nc ustack -> kernel, 200 kB"
ust_run timeout 20 nc -l -p 5001 >"$WORK/nc-u.out" &
NCU=$!
for _ in $(seq 50); do "$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*:5001 " && break; sleep 0.1; done
in_ns timeout 20 nc -N "$UST_IP" 5001 <"$WORK/up" || fail "kernel nc client"
wait $NCU || fail "nc listener under preload"
cmp -s "$WORK/up" "$WORK/nc-u.out" || fail "nc kernel->ustack: data differs"
echo "ok: nc kernel -> ustack listener, 200 kB"

# socat both ways, TCP and UDP.
in_ns timeout 20 socat -u TCP-LISTEN:5002,reuseaddr OPEN:"$WORK/socat-k.out",creat,trunc &
SK=$!
sleep 0.3
ust_run timeout 20 socat -u OPEN:"$WORK/up" TCP:"$PEER_IP":5002 || fail "socat client under preload"
wait $SK
cmp -s "$WORK/up" "$WORK/socat-k.out" || fail "socat ustack->kernel: data differs"
ust_run timeout 20 socat -u TCP-LISTEN:5003,reuseaddr OPEN:"$WORK/socat-u.out",creat,trunc &
SU=$!
for _ in $(seq 50); do "$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*:5003 " && break; sleep 0.1; done
in_ns timeout 20 socat -u OPEN:"$WORK/up" TCP:"$UST_IP":5003 || fail "kernel socat client"
wait $SU || fail "socat listener under preload"
cmp -s "$WORK/up" "$WORK/socat-u.out" || fail "socat kernel->ustack: data differs"
echo "ok: socat TCP both ways, 200 kB"
# UDP request/response: a preloaded socat echo, the kernel asks.
ust_run timeout 20 socat UDP-RECVFROM:5004 PIPE &
SE=$!
for _ in $(seq 50); do "$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "^udp .*:5004 " && break; sleep 0.1; done
got=$(echo "udp-through-ustack" | in_ns timeout 5 socat - UDP:"$UST_IP":5004)
wait $SE 2>/dev/null || true
[ "$got" = "udp-through-ustack" ] || fail "socat UDP echo under preload answered '$got'"
echo "ok: socat UDP echo under preload"

# iperf3 client against the kernel's iperf3 server.
in_ns iperf3 -s -1 -B "$PEER_IP" >"$WORK/iperf-s.log" 2>&1 &
IS=$!
sleep 0.5
ust_run timeout 30 iperf3 -c "$PEER_IP" -t 2 -J >"$WORK/iperf.json" || fail "iperf3 -c failed: $(tail -5 "$WORK/iperf.json")"
wait $IS || true
bytes=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['end']['sum_received']['bytes'])" "$WORK/iperf.json")
[ "$bytes" -gt 1000000 ] || fail "iperf3 moved only $bytes bytes"
echo "ok: iperf3 -c sent $bytes bytes to the kernel's iperf3 -s"

# Nothing left behind: every program closed its sockets at exit (only
# TIME-WAIT may stay).
sleep 0.2
left=$("$UST_CLI" --ctl "$WORK/ctl.sock" stat | awk '/^(tcp|udp) / && $2 != "TIME-WAIT"')
[ -z "$left" ] || fail "sockets left open: $left"
echo PASS
