#!/usr/bin/env bash
# Differential POSIX socket tests: run every program on the Linux kernel and
# under LD_PRELOAD (ustack), and require byte-identical stdout.
#
# usage: run.sh <bindir-with-programs>
# env:   UST_PRELOAD   LD_PRELOAD value for the ustack run (e.g. the path of
#                      libustack.so).  If empty, the second run is on the
#                      kernel as well (checks that the tests are deterministic).
#        USTACK_CTL    control socket of an already running ustackd; exported
#                      to the preload run only.
#        POSIX_PROGS   optional space-separated subset of programs to run.
#        POSIX_TIMEOUT per-run timeout in seconds (default 20).
#        POSIX_CHECKS_FILE  if set, the total number of checks is written there.
# exit:  0 if all outputs match and every run exited 0, else 1 (2: usage).
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 <bindir-with-programs>" >&2
    exit 2
fi
bindir=$1
read -r -a progs <<<"${POSIX_PROGS:-tcp_basic tcp_errors tcp_flags sockopt udp blocking threads semantics sol_socket ifioctl sendfile cmsg mmsg scale epoll ipv6 errqueue procmodel tcp_inq cmsg6 rawcmsg epoll_proc}"
tmo=${POSIX_TIMEOUT:-20}

preload=${UST_PRELOAD:-}
if [ -z "$preload" ]; then
    echo "note: UST_PRELOAD is empty: comparing the kernel against itself" >&2
fi
second_env=()
if [ -n "$preload" ]; then
    second_env+=("LD_PRELOAD=$preload")
    if [ -n "${USTACK_CTL+x}" ]; then
        second_env+=("USTACK_CTL=$USTACK_CTL")
    fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/posix.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

total=0
differ=0
failed=0
for p in "${progs[@]}"; do
    exe=
    for cand in "$bindir/posix_$p" "$bindir/$p"; do
        if [ -x "$cand" ]; then
            exe=$cand
            break
        fi
    done
    if [ -z "$exe" ]; then
        echo "FAIL $p: no executable posix_$p or $p in $bindir"
        differ=$((differ + 1))
        failed=1
        continue
    fi

    timeout -k 2 "$tmo" "$exe" >"$tmp/$p.kernel" 2>"$tmp/$p.kernel.err" </dev/null
    krc=$?
    if [ -n "$preload" ]; then
        env "${second_env[@]}" timeout -k 2 "$tmo" "$exe" \
            >"$tmp/$p.ustack" 2>"$tmp/$p.ustack.err" </dev/null
    else
        timeout -k 2 "$tmo" "$exe" >"$tmp/$p.ustack" 2>"$tmp/$p.ustack.err" </dev/null
    fi
    urc=$?

    n=$(wc -l <"$tmp/$p.kernel")
    n=${n//[[:space:]]/}
    total=$((total + n))

    if [ $krc -eq 0 ] && [ $urc -eq 0 ] && cmp -s "$tmp/$p.kernel" "$tmp/$p.ustack"; then
        echo "ok $p ($n checks)"
        continue
    fi
    if ! cmp -s "$tmp/$p.kernel" "$tmp/$p.ustack"; then
        differ=$((differ + 1))
        echo "DIFF $p ($n checks): --- kernel +++ ustack"
        diff -u --label kernel --label ustack "$tmp/$p.kernel" "$tmp/$p.ustack" | sed 's/^/    /'
    fi
    if [ $krc -ne 0 ] || [ $urc -ne 0 ]; then
        failed=1
        echo "FAIL $p: exit status kernel=$krc ustack=$urc"
        for side in kernel ustack; do
            if [ -s "$tmp/$p.$side.err" ]; then
                echo "    $side stderr (tail):"
                tail -n 10 "$tmp/$p.$side.err" | sed 's/^/      /'
            fi
        done
    fi
done

export POSIX_CHECKS=$total
if [ -n "${POSIX_CHECKS_FILE:-}" ]; then
    echo "$total" >"$POSIX_CHECKS_FILE"
fi
echo "posix: $total checks, $differ programs differ"
if [ $differ -ne 0 ] || [ $failed -ne 0 ]; then
    exit 1
fi
exit 0
