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
check "compare_csv" bash -c "head -1 cmp.csv | grep -qx 'metric,\"fast.json\",\"slow.json\",winner,difference_pct,factor' && grep -q '^latency p99 ms,.*,\"fast.json\",' cmp.csv"
# a speed-up also as a factor (7.50x beside 650%); a difference under --tie is a tie
check "compare_factor" test "$(jget cmp.json \
	'[abs(m["factor"] - m["values"][1] / m["values"][0]) < 0.01 * m["factor"] for m in d["metrics"] if m["metric"] == "latency p50 ms"][0]')" = True
check "compare_console_factor" grep -Eq '^  latency p50 ms .* fast.json +[0-9.]+% \([0-9.]+×\)' cmp.txt
"$RINGLOAD" compare -o json fast.json fast.json > same.json
check "compare_same_run_is_a_tie_everywhere" test "$(jget same.json 'set(m["winner"] for m in d["metrics"])')" = "{None}"
# (a lower-is-better gap is under 100% of the runner-up; throughput's here is far above)
"$RINGLOAD" compare -o json --tie 99.99 fast.json slow.json > tie.json
check "compare_tie_threshold" test "$(jget tie.json \
	'[m["winner"] for m in d["metrics"] if m["metric"] in ("latency p50 ms", "throughput req/s")]')" = "['fast.json', None]"
check "compare_tie_bad_exit_2" bash -c "'$RINGLOAD' compare --tie lots fast.json slow.json 2>&1 | grep -q \"tie: 'lots'\"; test \${PIPESTATUS[0]} = 2"
# a run of two targets (REST against gRPC, say) carries its own comparison, in the JSON
# and the CSV; compare takes that one file and compares its targets
"$RINGLOAD" -q -c 2 -t 1 -n 600 --json two.json --csv two.csv "$BASE/?ttfb=3ms" "$BASE/"
check "run_json_has_comparison" test "$(jget two.json \
	'[m["winner"] for m in d["comparison"]["metrics"] if m["metric"] == "latency p50 ms"] + d["comparison"]["runs"]')" = \
	"['$BASE/', '$BASE/?ttfb=3ms', '$BASE/']"
check "run_csv_has_comparison" grep -qx "comparison.latency_p50_ms.winner,\"$BASE/\"" two.csv
"$RINGLOAD" compare -o json two.json > one.json
check "compare_one_file_compares_its_targets" test "$(jget one.json '(d["runs"], [m["winner"] for m in d["metrics"] if m["metric"] == "latency p50 ms"])')" = \
	"(['$BASE/?ttfb=3ms', '$BASE/'], ['$BASE/'])"
check "compare_one_target_file_exit_2" bash -c "'$RINGLOAD' compare fast.json 2>&1 | grep -q 'has 1 target'; test \${PIPESTATUS[0]} = 2"
echo '{"not": "a result"}' > other.json
check "compare_rejects_other_json_exit_2" bash -c "'$RINGLOAD' compare fast.json other.json 2>&1 | grep -q \"'other.json' is not a ringload JSON result\"; test \${PIPESTATUS[0]} = 2"
check "compare_missing_file_exit_2" bash -c "'$RINGLOAD' compare fast.json nope.json 2>&1 | grep -q nope.json"

# `ringload merge`: two halves taken at once, as on two machines
"$RINGLOAD" -q -c 2 -t 1 -d 1500ms --json a.json "$BASE/?ttfb=1ms" &
HALF=$!
"$RINGLOAD" -q -c 4 -t 1 -d 1500ms --json b.json "$BASE/?ttfb=1ms"
wait "$HALF"
"$RINGLOAD" merge -o m.json a.json b.json
check "merge_exit_0" test $? = 0
check "merge_counts_are_sums" python3 - a.json b.json m.json <<'PY'
import json, sys
a, b, m = (json.load(open(f)) for f in sys.argv[1:])
for k in ("requests", "successful", "failed", "bytes_received", "bytes_sent", "payload_bytes"):
    assert a["total"][k] + b["total"][k] == m["total"][k], k
for k in ("latency_ms", "connect_ms", "ttfb_ms", "download_ms"):
    assert a["total"][k]["count"] + b["total"][k]["count"] == m["total"][k]["count"], k
assert m["total"]["status_codes"] == {"200": a["total"]["requests"] + b["total"]["requests"]}
lo, hi = sorted((a["total"]["latency_ms"]["p50"], b["total"]["latency_ms"]["p50"]))
assert lo - 0.01 <= m["total"]["latency_ms"]["p50"] <= hi + 0.01
assert sum(r["requests"] for r in m["total"]["history"]) == m["total"]["requests"]
assert m["config"]["connections"] == 6
for k in ("io_uring_enters", "sends", "recv_completions"):
    assert a["client"][k] > 0 and a["client"][k] + b["client"][k] == m["client"][k], k
PY
check "merge_accounting_holds" accounting_holds m.json
"$RINGLOAD" merge -o self.json a.json a.json
check "merge_with_itself_keeps_every_percentile" python3 - a.json self.json <<'PY'
import json, sys
a, s = (json.load(open(f)) for f in sys.argv[1:])
assert s["total"]["requests"] == 2 * a["total"]["requests"]
for k in ("latency_ms", "ttfb_ms", "connect_ms"):
    for q in ("min", "p50", "p90", "p99", "p999", "max", "mean"):
        assert abs(s["total"][k][q] - a["total"][k][q]) < 1e-9, (k, q)
PY
check "merged_result_compares" bash -c "'$RINGLOAD' compare a.json m.json | grep -q '^Comparison'"
check "merge_mismatched_targets_exit_2" bash -c "'$RINGLOAD' merge -o x.json fast.json slow.json 2>&1 | grep -q 'target 1'; test \${PIPESTATUS[0]} = 2"
check "merge_other_json_exit_2" bash -c "'$RINGLOAD' merge -o x.json a.json other.json 2>&1 | grep -q 'other.json'"
check "merge_needs_output_exit_2" bash -c "'$RINGLOAD' merge a.json 2>/dev/null; test \$? = 2"
