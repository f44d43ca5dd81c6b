#!/usr/bin/env bash
# Run a libFuzzer target for a bounded time on a scratch copy of its corpus, so
# CI never writes into the tree; then check that each input's coverage does not
# depend on the inputs run before it (the stack targets reset a shared world
# between inputs): the corpus run in two orders must give the same features.
# Those runs are without address randomisation: libFuzzer counts the deepest
# stack offset as a feature, and it moves with where the stack starts.
# Usage: run.sh FUZZER CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
"$fuzzer" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/" "$work" 2>&1 | tail -15
features() {
	setarch -R "$fuzzer" -runs=0 -seed="$1" "$work" 2>&1 | sed -n 's/.*INITED .* ft: \([0-9]*\) .*/\1/p'
}
first=$(features 1) second=$(features 2)
echo "features of the corpus in two orders: $first, $second"
[ -n "$first" ] && [ "$first" = "$second" ]
