#!/usr/bin/env bash
# Soak: 1,000,000 requests for a 1 KiB file to nginx from Debian (daemon,
# master + 2 workers) by a preloaded wrk over 127.0.0.1 (16 keep-alive
# connections), in rounds of 10 s until the million is reached, no error or
# non-2xx answer allowed (wrk counts an answer later than --timeout as an
# error; 30 s, as a machine shared with other work can stall a round for
# seconds). ustackd's resident memory (VmRSS) is read after
# each round: after the warm-up (the first 200,000 requests: buffers touched
# for the first time, TIME-WAIT sockets of the rounds piling up to their
# 60 s) every figure must stay within 5% of the warm-up's last.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"

ust_up
trap 'set +e; nginx_kill; ust_cleanup' EXIT
mkdir -p "$WORK/www"
head -c 1024 /dev/urandom >"$WORK/www/small"
nginx_up

mem() { awk '/^(VmRSS|RssAnon|RssShmem):/ {printf "%s %s ", $1, $2}' "/proc/$UST_PID/status"; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$UST_PID/status"; }
echo "ustackd before: $(mem)(kB)"
total=0 round=0 base= samples=()
while [ "$total" -lt 1000000 ]; do
	round=$((round + 1))
	[ "$round" -le 400 ] || fail "fewer than 1,000,000 requests in 400 rounds: $total"
	ust_run wrk -t 2 -c 16 -d 10 --timeout 30 "http://127.0.0.1:8080/small" >"$WORK/wrk.log" 2>&1 ||
		fail "wrk: $(cat "$WORK/wrk.log")"
	grep -q "Socket errors\|Non-2xx" "$WORK/wrk.log" && fail "wrk saw errors: $(cat "$WORK/wrk.log")"
	n=$(awk '/requests in/ {print $1}' "$WORK/wrk.log")
	[ "${n:-0}" -gt 0 ] || fail "wrk made no request: $(cat "$WORK/wrk.log")"
	total=$((total + n))
	echo "round $round: $n requests, $total in all; ustackd $(mem)(kB)"
	if [ -z "$base" ]; then
		[ "$total" -ge 200000 ] && base=$(rss)
	else
		samples+=("$(rss)")
	fi
done
[ "${#samples[@]}" -ge 3 ] || fail "only ${#samples[@]} samples after the warm-up"
for s in "${samples[@]}"; do
	[ $((s * 100)) -le $((base * 105)) ] && [ $((s * 100)) -ge $((base * 95)) ] ||
		fail "ustackd's VmRSS $s kB is not within 5% of $base kB after the warm-up (all after: ${samples[*]})"
done
echo "ok: $total requests in $round rounds, no error; ustackd VmRSS after the warm-up $base kB, then ${samples[*]} kB (last ${samples[-1]}), all within 5%"
echo PASS
