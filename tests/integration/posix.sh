#!/usr/bin/env bash
# The differential POSIX tests (tests/posix): each program runs on the
# kernel and under libustack.so on this test's ustackd; outputs must match.
. "$(dirname "$0")/lib.sh"
# Our own programs: the library built like them (see meson.build).
UST_PRELOAD=${UST_PRELOAD_OWN:-${UST_PRELOAD:-}}
[ -n "${UST_PRELOAD:-}" ] || fail "UST_PRELOAD must name libustack.so"
[ -d "${POSIX_BIN:-}" ] || fail "POSIX_BIN must be the directory of the tests/posix programs"
ust_up
# sol_socket runs part of itself as nobody, who must reach the control socket.
chmod 755 "$WORK"
ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 USTACK_CTL="$WORK/ctl.sock" \
	bash "$(dirname "$0")/../posix/run.sh" "$POSIX_BIN" || fail "ustack differs from the kernel"
echo PASS
