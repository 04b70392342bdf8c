#!/usr/bin/env bash
# Runs every unit test binary (cmocka, TAP output) and every integration script (TAP-like
# "ok - name" / "not ok - name" lines), each under a time limit, and ends with the line
# "N passed, N failed". Exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export RINGLOAD="$PWD/$BUILD/ringload"
export CMOCKA_MESSAGE_OUTPUT=TAP
passed=0
failed=0
failures=() # each failing line with its context, repeated at the end where a log's tail shows it

run_suite() { # limit name command...
	local limit=$1 name=$2
	shift 2
	local out rc p f
	out=$(timeout -k 5 "$limit" "$@" 2>&1)
	rc=$?
	p=$(grep -c '^ok ' <<<"$out")
	f=$(grep -c '^not ok ' <<<"$out")
	local lines
	lines=$(grep -E '^(ok |not ok |# )' <<<"$out" | grep -v '^# ok - ' | sed "s/^/[$name] /")
	[ -n "$lines" ] && echo "$lines"
	[ "$f" -gt 0 ] && failures+=("$(grep -A 16 '^\[[^]]*\] not ok ' <<<"$lines" | head -n 60)")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		local why
		why="[$name] not ok - suite exited with status $rc"
		[ "$rc" -eq 124 ] && why+=$'\n'"[$name] # timed out after $limit s"
		why+=$'\n'"$(tail -n 20 <<<"$out" | sed "s/^/[$name] # /")"
		echo "$why"
		failures+=("$why")
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_suite 120 "$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	run_suite 300 "$(basename "$t" .sh)" bash "$t"
done
# every libFuzzer target, FUZZ_SECONDS (at least 20) each, two at a time; once per CI
# run: the targets carry ASan and UBSan themselves, so SAN=1 adds nothing to them
if [[ $BUILD == */san ]]; then
	echo "[fuzz] ok - fuzz # SKIP run by the plain make test (the targets are ASan+UBSan builds)"
	passed=$((passed + 1))
else
	run_suite 300 fuzz tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"
fi
if [ "$failed" -gt 0 ]; then
	echo "--- what failed, again:"
	printf '%s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
