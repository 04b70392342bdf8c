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
