#!/usr/bin/env bash
# --stages: connections (closed loop) or the rate (with -R) follow the stages, and each
# stage reports its own results: one row per stage.
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"

# every request takes 20 ms: 5 connections make about 250 req/s, 10 about 500
"$RINGLOAD" --no-progress -t 2 --stages "1s:=5,1s:=10,1s:=2" --json "$TEST_TMP/c.json" "$BASE/?ttfb=20ms" > "$TEST_TMP/c.txt"
check "closed_loop_stage_rates_follow_connections ($(jget "$TEST_TMP/c.json" '[round(s["throughput_rps"]) for s in d["stages"]]'))" \
	test "$(jget "$TEST_TMP/c.json" 'all(abs(s["throughput_rps"] - w) / w < 0.15 for s, w in zip(d["stages"], (240, 480, 96)))')" = True
check "closed_loop_one_row_per_stage" bash -c "grep -A4 '^Stages (connections)' '$TEST_TMP/c.txt' | grep -cE '^  [123] ' | grep -qx 3"
check "stages_add_up_to_total" test "$(jget "$TEST_TMP/c.json" 'sum(s["requests"] for s in d["stages"]) == d["total"]["requests"]')" = True
check "stages_own_percentiles" test "$(jget "$TEST_TMP/c.json" 'all(19 < s["latency_ms"]["p50"] < 30 for s in d["stages"])')" = True
check "stages_accounting_holds" accounting_holds "$TEST_TMP/c.json"

"$RINGLOAD" -q -o json -R 100 -c 20 -t 2 --stages "1s:=200,1s:=400,2s:0" "$BASE/" > "$TEST_TMP/r.json"
check "open_loop_stage_rates ($(jget "$TEST_TMP/r.json" '[round(s["throughput_rps"]) for s in d["stages"]]'))" \
	test "$(jget "$TEST_TMP/r.json" 'all(abs(s["throughput_rps"] - w) / w < 0.03 for s, w in zip(d["stages"], (200, 400, 200)))')" = True
check "open_loop_target_from_stages" test "$(jget "$TEST_TMP/r.json" 'round(d["rate"]["target_rps"]) == 250 and "warning" not in d["rate"]')" = True

check "stages_with_duration_exit_2" bash -c "'$RINGLOAD' --stages 1s:5 -d 3s '$BASE/' 2>&1 | grep -q -- '--stages'"
check "bad_stage_exit_2" bash -c "'$RINGLOAD' --stages 1s:five '$BASE/' 2>&1 | grep -q \"bad stage '1s:five'\""
check "stages_need_a_connection_exit_2" bash -c "'$RINGLOAD' --stages 1s:0 '$BASE/' 2>/dev/null; test \$? = 2"

# a linear ramp: every history row says how many users (connections open) there were
# and, in an open loop, the offered rate; the HTML draws response time against load from
# the ramp's seconds
"$RINGLOAD" -q -o json -t 2 --stages "4s:16" --history "$TEST_TMP/ramp.csv" --html "$TEST_TMP/ramp.html" \
	"$BASE/?ttfb=5ms" > "$TEST_TMP/ramp.json"
check "ramp_history_has_users" python3 - "$TEST_TMP/ramp.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["total"]["history"]
# 16 connections over 4 s: about 4 more each second
assert all(abs(r["users"] - 4 * r["t"]) <= 1 for r in rows[:4]), [(r["t"], r["users"]) for r in rows]
assert sum(t["history"][1]["users"] for t in d["targets"]) == rows[1]["users"]
assert all("target_rps" not in r for r in rows)  # a closed loop offers no rate
PY
check "ramp_history_csv_users" python3 - "$TEST_TMP/ramp.csv" "$TEST_TMP/ramp.json" <<'PY'
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["target"] == "total"]
d = json.load(open(sys.argv[2]))
assert [int(r["users"]) for r in rows] == [r["users"] for r in d["total"]["history"]]
assert all(r["target_rps"] == "" for r in rows)
PY
check "ramp_html_response_time_against_users" bash -c "grep -q 'Response time against load (each second of the ramp)' '$TEST_TMP/ramp.html' &&
	grep -q 'Users (connections open) per second' '$TEST_TMP/ramp.html'"
"$RINGLOAD" -q -o json -R 200 -c 8 -t 2 --stages "2s:1000,1s:1000" "$BASE/" > "$TEST_TMP/oramp.json"
check "open_ramp_history_has_offered_rate" test "$(jget "$TEST_TMP/oramp.json" \
	'[round(r["target_rps"]) for r in d["total"]["history"][:3]]')" = "[600, 1000, 1000]"
