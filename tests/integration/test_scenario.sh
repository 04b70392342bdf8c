#!/usr/bin/env bash
# Several targets in one run (the REST-vs-gRPC seed): per-target protocols from a
# scenario file, measured apart, compared in a table; weights share the connections;
# bad files name the bad field.
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"
cat > "$TEST_TMP/seed.json" <<JSON
{"targets": [
  {"name": "REST", "url": "$BASE/api/users/{{randint 1 10000}}", "protocol": "h1"},
  {"name": "gRPC", "url": "$BASE", "grpc": "api.performance.UserService/GetUser", "data": {"user_id": 42}}
]}
JSON
"$RINGLOAD" --no-progress --scenario "$TEST_TMP/seed.json" -c 4 -m 1 -t 2 -d 2s --json "$TEST_TMP/seed.out.json" > "$TEST_TMP/seed.txt" 2> "$TEST_TMP/seed.err"
check "seed_comparison_table_printed" bash -c "grep -q '^Comparison' '$TEST_TMP/seed.txt' &&
	grep -Eq '^  latency p99 ms +[0-9.]+ +[0-9.]+ +(REST|gRPC|tie)' '$TEST_TMP/seed.txt' &&
	grep -Eq '^  avg payload B .* (REST|gRPC) +[0-9.]+%' '$TEST_TMP/seed.txt'"
check "seed_targets_measured_apart" test "$(jget "$TEST_TMP/seed.out.json" \
	'[(t["name"], t["protocol"], t["successful"] > 0, t["failed"]) for t in d["targets"]]')" = "[('REST', 'http/1.1', True, 0), ('gRPC', 'grpc', True, 0)]"
check "seed_grpc_counted_by_status_name" test "$(jget "$TEST_TMP/seed.out.json" \
	'list(d["targets"][1]["status_codes"]) + list(d["targets"][0]["status_codes"])')" = "['OK', '200']"
check "seed_accounting_holds" accounting_holds "$TEST_TMP/seed.out.json"
# with -m 1 the two carry the same load; with the default -m 10 the run says it does not
check "seed_even_in_flight_no_note" bash -c "test -f '$TEST_TMP/seed.err' && ! grep -q 'in flight per connection' '$TEST_TMP/seed.err'"
"$RINGLOAD" --no-progress --scenario "$TEST_TMP/seed.json" -c 2 -t 1 -n 200 > /dev/null 2> "$TEST_TMP/uneven.err"
check "seed_uneven_in_flight_noted" grep -q "note: REST has 1 request in flight per connection and gRPC 10, so their comparison is 1:10" "$TEST_TMP/uneven.err"

cat > "$TEST_TMP/w.json" <<JSON
{"targets": [
  {"name": "heavy", "url": "$BASE/", "weight": 3},
  {"name": "light", "url": "$BASE/health", "weight": 1, "headers": {"X-Who": "light"}}
]}
JSON
"$RINGLOAD" -q -o json --scenario "$TEST_TMP/w.json" -c 20 -t 2 -n 2000 > "$TEST_TMP/w.out.json"
check "weights_share_connections" test "$(jget "$TEST_TMP/w.out.json" \
	'[t["connections"]["opened"] for t in d["targets"]]')" = "[15, 5]"
check "weighted_total_exact" test "$(jget "$TEST_TMP/w.out.json" 'd["total"]["requests"]')" = 2000

bad_scenario() { # name json needle
	echo "$2" > "$TEST_TMP/bad.json"
	"$RINGLOAD" --scenario "$TEST_TMP/bad.json" > /dev/null 2> "$TEST_TMP/err"
	local rc=$?
	if [ "$rc" = 2 ] && grep -qF "$3" "$TEST_TMP/err"; then ok "$1"; else not_ok "$1" "exit $rc: $(cat "$TEST_TMP/err")"; fi
}
bad_scenario "scenario_bad_protocol_names_path" '{"targets": [{"url": "http://127.0.0.1:1/"}, {"url": "http://127.0.0.1:1/", "protocol": "h3"}]}' "targets[1].protocol"
bad_scenario "scenario_unknown_field_names_path" '{"targets": [{"url": "http://127.0.0.1:1/", "colour": 1}]}' "targets[0].colour"
bad_scenario "scenario_missing_url" '{"targets": [{"name": "x"}]}' "targets[0].url"
bad_scenario "scenario_bad_json" '{"targets": [' "line"
bad_scenario "scenario_grpc_data_needs_grpc" '{"targets": [{"url": "http://127.0.0.1:1/", "data": {}}]}' "targets[0].data"
check "scenario_and_urls_exit_2" bash -c "'$RINGLOAD' --scenario '$TEST_TMP/w.json' http://127.0.0.1:1/ 2>/dev/null; test \$? = 2"
"$RINGLOAD" --scenario "$TEST_TMP/missing.json" > /dev/null 2> "$TEST_TMP/err"
rc=$?
check "scenario_missing_file_says_so (rc $rc)" grep -qx "ringload: cannot open scenario file '$TEST_TMP/missing.json': No such file or directory" "$TEST_TMP/err"

# checks: a status the target does not expect, a body that lacks (or holds) a text, per
# target; each refused response is check_failed, its status still counted
cat > "$TEST_TMP/checks.json" <<JSON
{"targets": [
  {"name": "greets", "url": "$BASE/", "expect_body": "Hello"},
  {"name": "created", "url": "$BASE/?status=201", "expect_status": [200]},
  {"name": "no-errors", "url": "$BASE/", "expect_body": "!Hello", "expect_status": "2xx"}
]}
JSON
"$RINGLOAD" -q -o json --scenario "$TEST_TMP/checks.json" -c 3 -t 1 -n 600 --failures "$TEST_TMP/checks.csv" > "$TEST_TMP/checks.out.json"
check "scenario_checks_per_target" python3 - "$TEST_TMP/checks.out.json" "$TEST_TMP/checks.csv" <<'PY'
import csv, json, sys
d = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in d["targets"]}
assert t["greets"]["failed"] == 0 and t["greets"]["successful"] > 0
for name in ("created", "no-errors"):
    assert t[name]["successful"] == 0 and t[name]["errors"] == {"check_failed": t[name]["failed"]} and t[name]["failed"] > 0
assert t["created"]["status_codes"] == {"201": t["created"]["requests"]}
rows = {r["target"]: r["first_message"] for r in csv.DictReader(open(sys.argv[2]))}
assert rows["created"] == "status 201 is not one --expect-status allows", rows
assert rows["no-errors"] == 'the body holds "Hello"', rows
PY
check "scenario_checks_accounting_holds" accounting_holds "$TEST_TMP/checks.out.json"
# the search crosses receives and chunks: a text across the body pattern's line ends
"$RINGLOAD" -q -o json -c 2 -t 1 -n 100 --expect-body $'789\nringload-serve-body-0' "$BASE/?size=300000&chunked=1" > "$TEST_TMP/span1.json"
"$RINGLOAD" -q -o json --h2 -c 2 -t 1 -m 4 -n 100 --expect-body $'789\nringload-serve-body-0' "$BASE/?size=300000" > "$TEST_TMP/span2.json"
"$RINGLOAD" -q -o json --h2 -c 2 -t 1 -m 4 -n 100 --expect-body 'not in it' "$BASE/?size=300000" > "$TEST_TMP/span3.json"
check "expect_body_across_chunks_h1_h2" test "$(jget "$TEST_TMP/span1.json" 'd["total"]["successful"]'),$(jget "$TEST_TMP/span2.json" \
	'd["total"]["successful"]'),$(jget "$TEST_TMP/span3.json" 'd["total"]["errors"]')" = "100,100,{'check_failed': 100}"
bad_scenario "scenario_bad_expect_status" '{"targets": [{"url": "http://127.0.0.1:1/", "expect_status": [20]}]}' "targets[0].expect_status[0]"
check "expect_status_bad_exit_2" bash -c "'$RINGLOAD' --expect-status 2x '$BASE/' 2>&1 | grep -q \"'2x' is not a status\"; test \${PIPESTATUS[0]} = 2"

# a count per target (REST against gRPC, 1000 of each): exactly that many each, by our
# count and by the server's, however the connections and threads split
curl -s -X POST "$BASE/stats/reset" > /dev/null
cat > "$TEST_TMP/each.json" <<JSON
{"targets": [
  {"name": "REST", "url": "$BASE/api/users/{{randint 1 10000}}", "requests": 1000, "weight": 3},
  {"name": "gRPC", "url": "$BASE", "grpc": "api.performance.UserService/GetUser", "data": {"user_id": 42}, "requests": 700}
]}
JSON
"$RINGLOAD" -q -o json --scenario "$TEST_TMP/each.json" -c 5 -t 2 > "$TEST_TMP/each.out.json"
served=$(curl -s "$BASE/stats" | python3 -c 'import json,sys; p=json.load(sys.stdin)["per_protocol"]; print(p["http1"]["requests"], p["grpc"]["requests"])')
check "per_target_requests_exact (serve: $served)" test "$(jget "$TEST_TMP/each.out.json" \
	'[(t["requests"], t["successful"]) for t in d["targets"]]') $served" = "[(1000, 1000), (700, 700)] 1000 700"
"$RINGLOAD" -q -o json --requests-per-target 333 -c 7 -t 3 "$BASE/" "$BASE/api/users/1" "$BASE/health" > "$TEST_TMP/each2.json"
check "requests_per_target_flag_exact" test "$(jget "$TEST_TMP/each2.json" '[t["successful"] for t in d["targets"]]')" = "[333, 333, 333]"
check "requests_per_target_with_n_exit_2" bash -c "'$RINGLOAD' --requests-per-target 5 -n 10 '$BASE/' 2>&1 | grep -q 'requests-per-target'; test \${PIPESTATUS[0]} = 2"
bad_scenario "scenario_requests_for_every_target" "{\"targets\": [{\"url\": \"$BASE/\", \"requests\": 5}, {\"name\": \"other\", \"url\": \"$BASE/\"}]}" "other: no request count"

# in flight per target: gRPC with one stream beside HTTP/1.1's one request is a fair
# comparison, and the run says nothing; the server's high-water mark shows the load
curl -s -X POST "$BASE/stats/reset" > /dev/null
cat > "$TEST_TMP/fair.json" <<JSON
{"targets": [
  {"name": "REST", "url": "$BASE/api/users/1?ttfb=20ms"},
  {"name": "gRPC", "url": "$BASE", "grpc": "api.performance.UserService/GetUser", "data": {"user_id": 42}, "streams": 1,
   "headers": {"x-ttfb": "20ms"}}
]}
JSON
"$RINGLOAD" -q -o json --scenario "$TEST_TMP/fair.json" -c 4 -t 1 -m 10 -n 200 > "$TEST_TMP/fair.out.json" 2> "$TEST_TMP/fair.err"
check "scenario_streams_per_target (max in flight $(curl -s "$BASE/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_in_flight"])'))" \
	bash -c "test \"\$(curl -s '$BASE/stats' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"max_in_flight\"])')\" -le 4 && ! grep -q 'in flight' '$TEST_TMP/fair.err'"
bad_scenario "scenario_bad_streams" '{"targets": [{"url": "http://127.0.0.1:1/", "streams": 0}]}' "targets[0].streams"
