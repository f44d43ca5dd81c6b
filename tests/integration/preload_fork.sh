#!/usr/bin/env bash
# Unmodified servers from Debian packages that fork (and exec) with their
# sockets on ustack: nginx (daemon, master + 2 workers, reload under load),
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
NGINX_PID=
SOCAT_PID=
SSHD_PID=
cleanup_servers() {
	set +e
	[ -n "$NGINX_PID" ] && kill -9 "$NGINX_PID" 2>/dev/null
	[ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	pkill -9 -F "$WORK/nginx.pid" 2>/dev/null
	ust_cleanup
}
trap cleanup_servers EXIT

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
