#!/usr/bin/env bash
# Soak: 1,000,000 requests for a 1 KiB file to nginx from Debian (daemon,
# master + 2 workers) by one preloaded wrk over 127.0.0.1 (2 threads, 16
# keep-alive connections), every answer's status and body checked, no error
# allowed (wrk counts an answer later than --timeout as an error; 30 s, as a
# machine shared with other work can stall for seconds). ustackd's resident
# memory (VmRSS) is read at every 100,000 answers; the last (at 1,000,000)
# must be within 5% of the one at 200,000, after the warm-up (buffers and
# pages touched for the first time). In between it swings by up to about
# 7% on a loaded machine (malloc's heap growing and trimming), so those
# figures are printed, not judged.
. "$(dirname "$0")/lib.sh"
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"

ust_up
trap 'set +e; [ -n "${WRK:-}" ] && kill "$WRK" 2>/dev/null; nginx_kill; ust_cleanup' EXIT
mkdir -p "$WORK/www" "$WORK/marks"
head -c 1024 /dev/urandom >"$WORK/www/small"
nginx_up

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$UST_PID/status"; }
mem() { awk '/^(VmRSS|RssAnon|RssShmem):/ {printf "%s %s ", $1, $2}' "/proc/$UST_PID/status"; }
echo "ustackd before: $(mem)(kB)"
ust_bg wrk -t 2 -c 16 -d 3600 --timeout 30 -s "$(dirname "$0")/wrk_verify.lua" "http://127.0.0.1:8080/small" \
	-- "$WORK/www/small" 500000 "$WORK/marks" 50000 >"$WORK/wrk.log" 2>&1
WRK=$!
next=100000 base= samples=() start=$SECONDS
while :; do
	counts=("$WORK"/marks/p*)
	n=0
	[ -f "${counts[0]}" ] && n=$(awk '{s += $1} END {print s}' "${counts[@]}")
	if [ "$n" -ge "$next" ]; then
		echo "$n answers ($((SECONDS - start)) s): ustackd $(mem)(kB)"
		if [ "$next" -eq 200000 ]; then base=$(rss); elif [ "$next" -gt 200000 ]; then samples+=("$(rss)"); fi
		next=$((next + 100000))
	fi
	[ -f "$WORK/marks/1" ] && [ -f "$WORK/marks/2" ] && break
	kill -0 "$WRK" 2>/dev/null || fail "wrk ended early: $(cat "$WORK/wrk.log")"
	[ $((SECONDS - start)) -lt 3000 ] || fail "fewer than 1,000,000 answers in 50 minutes: $n"
	sleep 1
done
kill -INT "$WRK"
wait "$WRK" || fail "wrk: $(cat "$WORK/wrk.log")"
WRK=
grep -q "Socket errors\|Non-2xx" "$WORK/wrk.log" && fail "wrk saw errors: $(cat "$WORK/wrk.log")"
read -r good bad <<<"$(sed -n 's/^verified \([0-9]*\) mismatched \([0-9]*\)$/\1 \2/p' "$WORK/wrk.log")"
[ "${good:-0}" -ge 1000000 ] && [ "$bad" -eq 0 ] || fail "wrk: $(cat "$WORK/wrk.log")"
echo "wrk: $good answers checked in $((SECONDS - start)) s, $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.log") requests/s"
[ -n "$base" ] && [ "${#samples[@]}" -ge 7 ] || fail "too few memory samples: base '$base', after: ${samples[*]}"
last=${samples[-1]}
[ $((last * 100)) -le $((base * 105)) ] && [ $((last * 100)) -ge $((base * 95)) ] ||
	fail "ustackd's VmRSS at the end, $last kB, is not within 5% of $base kB at 200,000 answers (between: ${samples[*]})"
echo "ok: $good requests, no error; ustackd VmRSS $base kB at 200,000 answers, $last kB at the end (between: ${samples[*]} kB)"
echo PASS
