#!/usr/bin/env bash
# README command 2: install what is missing, build (normal, ASan+UBSan, fuzz),
# run every suite, and end with the line CI reads: `N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh || exit 1

logs=()
run_build() { # dir, meson options...
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
			cat "$dir.setup.log"
			echo "tools/test.sh: meson setup $dir failed" >&2
			return 1
		}
	fi
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || {
		tail -40 "$dir.ninja.log"
		echo "tools/test.sh: build $dir failed" >&2
		return 1
	}
}

run_tests() { # dir, label, meson test options...
	local dir=$1 label=$2
	shift 2
	echo "== $label: meson test -C $dir"
	if [ -z "$(meson test -C "$dir" --list 2>/dev/null)" ]; then
		echo "(no tests registered in $dir)"
		return
	fi
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --num-processes 1 --print-errorlogs --timeout-multiplier 2 "$@" \
		| grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout|Skipped)' || true
	logs+=("$dir/meson-logs/testlog.json")
}

build_and_test() { # dir, label, meson test options, meson options...
	local dir=$1 label=$2 test_opts=$3
	shift 3
	mkdir -p "$dir"
	if run_build "$dir" "$@"; then
		# shellcheck disable=SC2086 # the options are words
		run_tests "$dir" "$label" $test_opts
	else
		# A build that fails counts as a failed test, not as nothing.
		logs+=("$dir/meson-logs/build-failed")
	fi
}

build_and_test build "normal build" "" -Dtests=true
build_and_test build-asan "ASan+UBSan build" "" -Dsanitize=true -Dtests=true
CC=clang build_and_test build-fuzz "fuzz (libFuzzer, bounded time)" "" -Dfuzz=true -Dtests=false -Ddpdk=disabled

python3 tools/test-summary.py "${logs[@]}"
