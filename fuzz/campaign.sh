#!/usr/bin/env bash
# A long fuzzing run that outlives crashes: the target runs at the lowest CPU
# priority on DIR/corpus (seeded from the target's committed corpus), and
# after a crash (artifact in DIR/artifacts) starts again with the time left.
# Usage: campaign.sh FUZZER SEED_CORPUS SECONDS DIR [libFuzzer flags...]
set -uo pipefail
fuzzer=$1 seeds=$2 secs=$3 dir=$4
shift 4
mkdir -p "$dir/corpus" "$dir/artifacts"
cp -rn "$seeds"/. "$dir/corpus"/
end=$(($(date +%s) + secs))
round=0
while [ "$(date +%s)" -lt "$end" ]; do
	round=$((round + 1))
	left=$((end - $(date +%s)))
	nice -n 19 "$fuzzer" -max_total_time="$left" -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/" "$@" "$dir/corpus" >"$dir/run$round.log" 2>&1
	echo "round $round: exit $?, $(grep -c . "$dir/run$round.log") log lines"
done
total=0
for log in "$dir"/run*.log; do
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	total=$((total + ${n:-0}))
done
echo "executions: $total"
grep -hE '^#[0-9]+ +(NEW|REDUCE|pulse|DONE)' "$dir"/run*.log | tail -1
echo "corpus: $(ls "$dir/corpus" | wc -l) inputs; artifacts: $(ls "$dir/artifacts" | wc -l)"
