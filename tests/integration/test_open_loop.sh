#!/usr/bin/env bash
# -R: the open loop keeps its rate, measures from intended start times (no coordinated
# omission), reports the uncorrected latency and the client queue beside it, and warns
# when it falls short. Against `ringload serve` (its every=N knob stalls exactly one
# request in N).
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"

"$RINGLOAD" -q -o json -R 2000 -d 5s -c 20 -t 2 "$BASE/api/users/1" > "$TEST_TMP/r.json"
check "rate_2000_achieved_within_1pct ($(jget "$TEST_TMP/r.json" 'd["rate"]["achieved_rps"]'))" \
	test "$(jget "$TEST_TMP/r.json" '1980 <= d["rate"]["achieved_rps"] <= 2020 and 9900 <= d["total"]["requests"] <= 10100')" = True
check "rate_met_no_warning" test "$(jget "$TEST_TMP/r.json" '"warning" not in d["rate"] and d["config"]["load_model"]')" = open
check "rate_accounting_holds" accounting_holds "$TEST_TMP/r.json"

# one request in 100 takes 500 ms: the connection stalls, requests due meanwhile queue
# in the client, and only the corrected latency shows it
"$RINGLOAD" -q -o json -R 2000 -d 3s -c 1 -t 1 "$BASE/?ttfb=500ms&every=100" > "$TEST_TMP/co.json"
check "corrected_p99_at_least_500ms ($(jget "$TEST_TMP/co.json" 'd["total"]["latency_ms"]["p99"]') ms)" \
	test "$(jget "$TEST_TMP/co.json" 'd["total"]["latency_ms"]["p99"] >= 500')" = True
check "uncorrected_p99_far_lower ($(jget "$TEST_TMP/co.json" 'd["total"]["latency_uncorrected_ms"]["p99"]') ms)" \
	test "$(jget "$TEST_TMP/co.json" 'd["total"]["latency_uncorrected_ms"]["p99"] < 100')" = True
check "client_queue_reported" test "$(jget "$TEST_TMP/co.json" 'd["total"]["client_queue_ms"]["p99"] >= 400')" = True
check "shortfall_warned_with_reason" bash -c "python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"rate\"][\"warning\"])' '$TEST_TMP/co.json' | grep -q 'connection was busy'"
"$RINGLOAD" --no-progress -R 500 -d 1s -c 1 -t 1 "$BASE/?ttfb=300ms&every=50" > "$TEST_TMP/co.txt"
check "console_shows_both_latencies_and_warning" bash -c "grep -q '^  Uncorr.' '$TEST_TMP/co.txt' && grep -q '^  Queue' '$TEST_TMP/co.txt' && grep -q '^warning: the achieved rate' '$TEST_TMP/co.txt'"

before=$(curl -s "$BASE/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["per_protocol"]["http1"]["requests"])')
start=$(date +%s%N)
"$RINGLOAD" -q -o json -R 5000 -n 3000 -c 10 -t 2 -P 2 "$BASE/" > "$TEST_TMP/n.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(curl -s "$BASE/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["per_protocol"]["http1"]["requests"])')
check "rate_with_n_exact (server saw $((after - before)))" test "$((after - before))" = 3000
check "rate_with_n_paced (${took} ms for 3000 at 5000/s)" test "$took" -ge 550

"$RINGLOAD" -q -o json --h2 -R 1000 -d 3s -c 4 -m 4 -t 1 "$BASE/" > "$TEST_TMP/h2.json"
check "h2_rate_within_1pct ($(jget "$TEST_TMP/h2.json" 'd["rate"]["achieved_rps"]'))" \
	test "$(jget "$TEST_TMP/h2.json" '990 <= d["rate"]["achieved_rps"] <= 1010')" = True
"$RINGLOAD" -q -o json --grpc api.performance.UserService/GetUser --data '{"user_id": 3}' \
	-R 1000 -d 3s -c 4 -m 4 -t 1 "$BASE" > "$TEST_TMP/g.json"
check "grpc_rate_within_1pct ($(jget "$TEST_TMP/g.json" 'd["rate"]["achieved_rps"]'))" \
	test "$(jget "$TEST_TMP/g.json" '990 <= d["rate"]["achieved_rps"] <= 1010 and d["total"]["status_codes"] == {"OK": d["total"]["requests"]}')" = True

# lazy harvest (kernel 6.0+, where -R turns the kernel's receive stamps on): the loop
# wakes for the schedule alone. At -R 200 on one thread (5 ms apart) a 1 ms response
# waits about 4 ms for the next wake-up (client delay), while its latency, by the
# kernel's stamps, stays the server's 1 ms (by the loop's clock it would be about 5);
# one io_uring_enter a request, where waking for each response takes three
if python3 -c 'import os,sys; sys.exit(0 if tuple(map(int, os.uname().release.split(".")[:2])) >= (6, 0) else 1)'; then
	"$RINGLOAD" -q -o json -R 200 -d 2s -c 4 -t 1 "$BASE/?ttfb=1ms" > "$TEST_TMP/lazy.json"
	"$RINGLOAD" -q -o json --no-kernel-timestamps -R 200 -d 2s -c 4 -t 1 "$BASE/?ttfb=1ms" > "$TEST_TMP/eager.json"
	lz() { jget "$1" '"latency p50 %.3f ms, client delay p50 %s ms, %.2f enters/request" % (d["total"]["latency_ms"]["p50"],
		d["total"].get("client_delay_ms", {}).get("p50"), d["client"]["io_uring_enters_per_request"])'; }
	check "lazy_harvest_on_with_rate" test "$(jget "$TEST_TMP/lazy.json" 'd["config"]["engine"]["lazy_harvest"]'),$(jget "$TEST_TMP/eager.json" 'd["config"]["engine"]["lazy_harvest"]')" = True,False
	check "lazy_latency_by_the_kernel_stamps ($(lz "$TEST_TMP/lazy.json"))" test "$(jget "$TEST_TMP/lazy.json" \
		'0.9 <= d["total"]["latency_ms"]["p50"] < 2.5 <= d["total"]["client_delay_ms"]["p50"] and d["total"]["latency_ms"]["count"] == d["total"]["requests"] >= 390')" = True
	check "lazy_one_enter_per_request (eager: $(lz "$TEST_TMP/eager.json"))" test "$(jget "$TEST_TMP/lazy.json" \
		'd["client"]["io_uring_enters_per_request"] <= 1.3')$(jget "$TEST_TMP/eager.json" 'd["client"]["io_uring_enters_per_request"] >= 1.8')" = TrueTrue
	check "lazy_no_client_delay_warning" test "$(jget "$TEST_TMP/lazy.json" '"client_delay_warning" in d["client"]')" = False
	check "lazy_accounting_holds" accounting_holds "$TEST_TMP/lazy.json"
	"$RINGLOAD" --no-progress -R 200 -d 1s -c 2 -t 1 "$BASE/" > "$TEST_TMP/lazy.txt"
	check "console_says_lazy_harvest" grep -q "responses read at the schedule's wake-ups" "$TEST_TMP/lazy.txt"
fi

# --warmup: runs, but only what follows it is in the results
before=$(curl -s "$BASE/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_requests"])')
"$RINGLOAD" -q -o json --warmup 1s -d 1s -R 1000 -c 4 -t 1 "$BASE/" > "$TEST_TMP/w.json"
after=$(curl -s "$BASE/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_requests"])')
served=$((after - before))
check "warmup_left_out (server $served, reported $(jget "$TEST_TMP/w.json" 'd["total"]["requests"]'))" \
	test "$(jget "$TEST_TMP/w.json" "0.95 < d['duration_s'] < 1.2 and 950 <= d['total']['requests'] <= 1050 and $served >= 1900")" = True
check "warmup_connections_not_in_results" test "$(jget "$TEST_TMP/w.json" 'd["total"]["connect_ms"]["count"]')" = 0
check "warmup_accounting_holds" accounting_holds "$TEST_TMP/w.json"
check "warmup_without_duration_exit_2" bash -c "'$RINGLOAD' --warmup 1s -n 10 '$BASE/' 2>&1 | grep -q -- '--warmup'"

check "bad_rate_exit_2" bash -c "'$RINGLOAD' -R fast '$BASE/' 2>&1 | grep -q -- '-R'; test \${PIPESTATUS[0]} = 2"
