#!/usr/bin/env bash
# Runs every libFuzzer target in build/fuzz for SECONDS each, two at a time (the
# machine's two cores), from the seed corpus in tests/fuzz/corpus/NAME plus what earlier
# runs found (build/fuzz/corpus/NAME). Prints "ok - NAME" or "not ok - NAME" with the
# crash; a crashing input is left in build/fuzz/ for a regression test.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-20}
DIR=build/fuzz

fuzz_one() {
	local bin=$1 name
	name=$(basename "$bin")
	mkdir -p "$DIR/corpus/$name" "$DIR/logs"
	"$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$DIR/crash-$name-" "$DIR/corpus/$name" "tests/fuzz/corpus/$name" \
		> "$DIR/logs/$name.log" 2>&1
	local rc=$? runs
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$DIR/logs/$name.log")
	if [ "$rc" = 0 ] && [ -n "$runs" ]; then
		echo "ok - ${name}_${SECONDS_EACH}s ($runs inputs)"
	else
		echo "not ok - ${name}_${SECONDS_EACH}s (exit $rc)"
		grep -E 'ERROR|SUMMARY|Test unit written|panic|abort' "$DIR/logs/$name.log" | head -8 | sed 's/^/# /'
	fi
}

bins=()
for b in "$DIR"/fuzz_*; do
	[[ -f $b && -x $b && $(basename "$b") != *.* ]] && bins+=("$b")
done
[ ${#bins[@]} -gt 0 ] && [ -x "${bins[0]}" ] || { echo "not ok - fuzz targets not built (make fuzz-build)"; exit 1; }
for ((i = 0; i < ${#bins[@]}; i += 2)); do
	fuzz_one "${bins[i]}" > "$DIR/result.$i" &
	[ $((i + 1)) -lt ${#bins[@]} ] && fuzz_one "${bins[i + 1]}" > "$DIR/result.$((i + 1))" &
	wait
	cat "$DIR/result.$i"
	[ -f "$DIR/result.$((i + 1))" ] && cat "$DIR/result.$((i + 1))"
	rm -f "$DIR/result.$i" "$DIR/result.$((i + 1))"
done
