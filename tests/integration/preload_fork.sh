#!/usr/bin/env bash
# Unmodified servers from Debian packages that fork (and exec) with their
# sockets on ustack: nginx (daemon, master + 2 workers sharing its listener,
# epoll, reload under load),
# socat TCP-LISTEN,fork with EXEC (the forked child execs cat on the
# accepted socket), and sshd (privilege separation, re-exec per connection).
# Clients are the kernel in the namespace and preloaded programs on the same
# ustackd; every byte is checked by hash.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"

stat_socks() { "$UST_CLI" --ctl "$WORK/ctl.sock" stat | awk '/^(tcp|udp) / && $2 != "TIME-WAIT"'; }
wait_listen() { # port
	for _ in $(seq 100); do
		stat_socks | grep -Eq "LISTEN .*:$1 " && return
		sleep 0.1
	done
	fail "nothing listens on ustack port $1"
}
sha() { sha256sum "$1" | cut -c1-64; }

ust_up
SOCAT_PID=
SSHD_PID=
cleanup_servers() {
	set +e
	nginx_kill
	[ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	ust_cleanup
}
trap cleanup_servers EXIT

# --- nginx: daemon on, master + 2 workers -------------------------------
mkdir -p "$WORK/www"
head -c 1024 /dev/urandom >"$WORK/www/small"
head -c 1048576 /dev/urandom >"$WORK/www/big"
nginx_up
# 1,000 fetches of each file by one curl process (its URL glob, one
# keep-alive connection) and by wrk (8 connections), from the kernel side
# and from ustack over 127.0.0.1. curl's bodies arrive concatenated and are
# hashed against 1,000 copies of the file; wrk's script compares every body.
for f in small big; do
	want=$(for _ in $(seq 1000); do cat "$WORK/www/$f"; done | sha256sum | cut -c1-64)
	for side in kernel ustack; do
		if [ $side = kernel ]; then run=in_ns host=$UST_IP; else run=ust_run host=127.0.0.1; fi
		got=$($run curl -sS --max-time 120 -w '%{stderr}%{http_code}\n' "http://$host:8080/$f?[1-1000]" \
			2>"$WORK/codes" | sha256sum | cut -c1-64) || fail "$side curl of $f: $(sort "$WORK/codes" | uniq -c)"
		ok=$(grep -c '^200$' "$WORK/codes" || true)
		[ "$ok" -eq 1000 ] || fail "$side curl of $f: $ok of 1000 answered 200: $(sort "$WORK/codes" | uniq -c)"
		[ "$got" = "$want" ] || fail "$side curl: the 1000 bodies of $f differ from the file"
		wrk_count $side "http://$host:8080/$f" "$WORK/www/$f" 500
		echo "ok: nginx (daemon, master + 2 workers, sendfile on) to $side: curl 1000 x $f, hash equal; wrk $WRK_GOOD x $f, every body equal, no error"
	done
done

# Reload under load: the new workers take over the listener, no request
# lost. wrk closes each connection after its answer, so every request of
# the run is on a connection of its own and nothing excuses a failure (on
# a keep-alive connection an old worker closes while leaving, a request
# crossing its close fails with the kernel's nginx as well).
in_ns wrk -t 2 -c 8 -d 4 -H 'Connection: close' -s "$(dirname "$0")/wrk_verify.lua" "http://$UST_IP:8080/small" -- "$WORK/www/small" 0 / \
	>"$WORK/wrk2.log" 2>&1 &
WRK=$!
sleep 1
old=$(pgrep -P "$NGINX_PID" | sort | tr '\n' ' ')
ust_run nginx -c "$WORK/nginx.conf" -s reload || fail "nginx -s reload"
wait $WRK || fail "wrk during reload: $(cat "$WORK/wrk2.log")"
grep -q "Socket errors\|Non-2xx" "$WORK/wrk2.log" && fail "requests lost during reload: $(cat "$WORK/wrk2.log")"
read -r good bad <<<"$(sed -n 's/^verified \([0-9]*\) mismatched \([0-9]*\)$/\1 \2/p' "$WORK/wrk2.log")"
[ "${good:-0}" -gt 0 ] && [ "$bad" -eq 0 ] || fail "wrk during reload: $(cat "$WORK/wrk2.log")"
for _ in $(seq 50); do
	new=$(pgrep -P "$NGINX_PID" | sort | tr '\n' ' ')
	[ "$new" != "$old" ] && [ "$(pgrep -P "$NGINX_PID" | wc -l)" -eq 2 ] && break
	sleep 0.1
done
[ "$new" != "$old" ] || fail "nginx -s reload did not replace the workers"
in_ns curl -sS --max-time 20 -o "$WORK/k-big2" "http://$UST_IP:8080/big" || fail "curl after reload"
[ "$(sha "$WORK/k-big2")" = "$(sha "$WORK/www/big")" ] || fail "curl after reload: big differs"
echo "ok: nginx -s reload during wrk: $good requests (one connection each), none lost or wrong; new workers serve"

ust_run nginx -c "$WORK/nginx.conf" -s stop || fail "nginx -s stop"
for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NGINX_PID" 2>/dev/null && fail "nginx did not stop"
NGINX_PID=
sleep 0.2
left=$(stat_socks)
[ -z "$left" ] || fail "sockets left after nginx stopped: $left"
echo "ok: nginx stopped, no socket left in ustack stat"

# --- socat TCP-LISTEN,fork: each child execs cat on its accepted socket ---
ust_bg socat TCP-LISTEN:5020,fork,reuseaddr EXEC:cat,nofork
SOCAT_PID=$!
wait_listen 5020
for i in 1 2 3 4; do
	head -c 300000 /dev/urandom >"$WORK/s$i.in"
	in_ns timeout 20 nc -N "$UST_IP" 5020 <"$WORK/s$i.in" >"$WORK/s$i.out" &
	eval "N$i=\$!"
done
for i in 1 2 3 4; do
	eval "wait \$N$i" || fail "socat client $i"
	[ "$(sha "$WORK/s$i.in")" = "$(sha "$WORK/s$i.out")" ] || fail "socat fork/exec echo $i: data differs"
done
echo "ok: socat TCP-LISTEN,fork EXEC:cat,nofork echoed 4 concurrent clients' 300 kB, hashes equal"
kill "$SOCAT_PID"
wait "$SOCAT_PID" 2>/dev/null || true
SOCAT_PID=
sleep 0.2
left=$(stat_socks)
[ -z "$left" ] || fail "sockets left after socat: $left"

# --- sshd: privilege separation, re-exec for each connection -----------
# Its own config, port, host key and authorized key in the test's directory;
# the privilege separation directory is the package's.
mkdir -p /run/sshd
chmod 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id"
cp "$WORK/id.pub" "$WORK/authorized_keys"
cat >"$WORK/sshd_config" <<EOF
Port 2222
ListenAddress 0.0.0.0
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
ust_bg /usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log"
SSHD_PID=$!
wait_listen 2222
ssh_opts=(-i "$WORK/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
	-o ConnectTimeout=20 -o LogLevel=ERROR)
got=$(in_ns timeout 30 ssh "${ssh_opts[@]}" -p 2222 root@"$UST_IP" 'echo hello over ustack') ||
	fail "ssh command: $(tail -20 "$WORK/sshd.log")"
[ "$got" = "hello over ustack" ] || fail "ssh command answered '$got'"
head -c 10485760 /dev/urandom >"$WORK/ten"
in_ns timeout 60 scp "${ssh_opts[@]}" -P 2222 "$WORK/ten" root@"$UST_IP":"$WORK/ten.copy" ||
	fail "scp: $(tail -20 "$WORK/sshd.log")"
[ "$(sha "$WORK/ten")" = "$(sha "$WORK/ten.copy")" ] || fail "scp: the 10 MiB file differs"
echo "ok: sshd (privilege separation, re-exec): a command and a 10 MiB scp, hashes equal"
kill "$SSHD_PID"
wait "$SSHD_PID" 2>/dev/null || true
SSHD_PID=
sleep 0.2
left=$(stat_socks)
[ -z "$left" ] || fail "sockets left after sshd: $left"
echo PASS
