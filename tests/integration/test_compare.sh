#!/usr/bin/env bash
# `ringload compare`: the seed's comparison table of saved runs, console, JSON and CSV.
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"
"$RINGLOAD" -q -c 4 -t 1 -n 2000 --json "$TEST_TMP/fast.json" "$BASE/"
"$RINGLOAD" -q -c 4 -t 1 -n 400 --json "$TEST_TMP/slow.json" "$BASE/?ttfb=3ms"
cd "$TEST_TMP" || exit 1
"$RINGLOAD" compare fast.json slow.json > cmp.txt
check "compare_console_table" bash -c "grep -q '^Comparison' cmp.txt && grep -Eq '^  latency p99 ms +[0-9.]+ +[0-9.]+ +fast.json +[0-9.]+%' cmp.txt"
"$RINGLOAD" compare -o json fast.json slow.json > cmp.json
check "compare_json_winners" test "$(jget cmp.json \
	'{m["metric"]: m["winner"] for m in d["metrics"]}["latency p99 ms"] + " " + str(d["runs"])')" = "fast.json ['fast.json', 'slow.json']"
check "compare_json_difference" test "$(jget cmp.json \
	'[m for m in d["metrics"] if m["metric"] == "latency p50 ms"][0]["difference_pct"] > 80')" = True
"$RINGLOAD" compare -o csv fast.json slow.json > cmp.csv
check "compare_csv" bash -c "head -1 cmp.csv | grep -qx 'metric,\"fast.json\",\"slow.json\",winner,difference_pct' && grep -q '^latency p99 ms,.*,\"fast.json\",' cmp.csv"
echo '{"not": "a result"}' > other.json
check "compare_rejects_other_json_exit_2" bash -c "'$RINGLOAD' compare fast.json other.json 2>&1 | grep -q \"'other.json' is not a ringload JSON result\"; test \${PIPESTATUS[0]} = 2"
check "compare_needs_two_runs_exit_2" bash -c "'$RINGLOAD' compare fast.json 2>/dev/null; test \$? = 2"
check "compare_missing_file_exit_2" bash -c "'$RINGLOAD' compare fast.json nope.json 2>&1 | grep -q nope.json"
