#!/usr/bin/env bash
# lighttpd from Debian, unmodified, on ustack with its sendfile network
# backend (file bytes go out through libustack's sendfile) and the poll
# event handler: whole files and a Range request fetched by the kernel's
# curl on the other side of net_tap, every byte compared.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"
command -v lighttpd >/dev/null || fail "lighttpd is missing — run tools/deps.sh"

ust_up
mkdir -p "$WORK/www"
head -c 1048576 /dev/urandom >"$WORK/www/big"
head -c 1024 /dev/urandom >"$WORK/www/small"
cat >"$WORK/lighttpd.conf" <<CONF
server.document-root = "$WORK/www"
server.bind = "$UST_IP"
server.port = 8089
server.event-handler = "poll"
server.network-backend = "sendfile"
server.errorlog = "$WORK/lighttpd.err"
CONF
ust_bg lighttpd -D -f "$WORK/lighttpd.conf"
LIGHTTPD=$!
trap 'kill $LIGHTTPD 2>/dev/null || true; ust_cleanup' EXIT
for _ in $(seq 100); do "$UST_CLI" --ctl "$WORK/ctl.sock" stat | grep -q "LISTEN .*:8089 " && break; sleep 0.1; done
kill -0 $LIGHTTPD 2>/dev/null || fail "lighttpd exited: $(cat "$WORK/lighttpd.err" 2>/dev/null)"

for i in $(seq 20); do
	in_ns curl -sS --max-time 20 -o "$WORK/got" "http://$UST_IP:8089/big" || fail "curl big #$i"
	cmp -s "$WORK/got" "$WORK/www/big" || fail "the 1 MiB file differs (#$i)"
	in_ns curl -sS --max-time 20 -o "$WORK/got" "http://$UST_IP:8089/small" || fail "curl small #$i"
	cmp -s "$WORK/got" "$WORK/www/small" || fail "the 1 KiB file differs (#$i)"
done
echo "ok: 20 fetches each of a 1 MiB and a 1 KiB file, bytes equal"
in_ns curl -sS --max-time 20 -r 1000-299999 -o "$WORK/got" "http://$UST_IP:8089/big" || fail "curl range"
dd if="$WORK/www/big" of="$WORK/want" bs=1000 skip=1 count=299 status=none
cmp -s "$WORK/want" "$WORK/got" || fail "the Range 1000-299999 differs"
echo "ok: Range 1000-299999 of the 1 MiB file, bytes equal"
kill $LIGHTTPD
wait $LIGHTTPD 2>/dev/null || true
echo PASS
