#!/usr/bin/env bash
# Run a libFuzzer target for a bounded time on a scratch copy of its corpus, so
# CI never writes into the tree. Usage: run.sh FUZZER CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
"$fuzzer" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/" "$work" 2>&1 | tail -15
