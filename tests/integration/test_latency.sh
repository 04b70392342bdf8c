#!/usr/bin/env bash
# Latency that includes the worst requests: every request that ended has a latency
# sample (timeouts at the time the client gave up, failures, resets), successes alone
# are latency_ok; both in every output; timeouts fire on time; a gRPC response over
# --max-msg is RESOURCE_EXHAUSTED.
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"

# the open loop against a server that stalls one request in ten past the timeout
"$RINGLOAD" -q -R 200 -d 2s --timeout 100ms --json "$TEST_TMP/stall.json" --csv "$TEST_TMP/stall.csv" \
	--history "$TEST_TMP/stall.hist.csv" "$BASE/?ttfb=500ms&every=10" > /dev/null
echo "# $(jget "$TEST_TMP/stall.json" '"requests %d, timeouts %d, p95 %.1f ms, p99 %.1f ms, ok p99 %.3f ms" % (
	d["total"]["requests"], d["total"]["errors"].get("timeout", 0), d["total"]["latency_ms"]["p95"],
	d["total"]["latency_ms"]["p99"], d["total"]["latency_ok_ms"]["p99"])')"
check "stall_counts_one_in_ten_timed_out" test "$(jget "$TEST_TMP/stall.json" \
	'385 <= d["total"]["requests"] <= 402 and abs(d["total"]["errors"].get("timeout", 0) - d["total"]["requests"] / 10) <= 3')" = True
check "stall_p95_of_all_requests_at_least_the_timeout" test "$(jget "$TEST_TMP/stall.json" \
	'd["total"]["latency_ms"]["p95"] >= 100')" = True
check "stall_latency_ok_p99_near_the_server" test "$(jget "$TEST_TMP/stall.json" \
	'd["total"]["latency_ok_ms"]["p99"] < 20 and d["total"]["latency_ok_ms"]["count"] == d["total"]["successful"]')" = True
check "every_ended_request_has_a_sample" test "$(jget "$TEST_TMP/stall.json" \
	'all(s["latency_ms"]["count"] == s["requests"] for s in d["targets"] + [d["total"]])')" = True
check "csv_carries_latency_ok" grep -q '^total.latency_ok_ms.p99,' "$TEST_TMP/stall.csv"
check "history_csv_carries_p99_ok" grep -q '^target,.*,p99_ok_ms,' "$TEST_TMP/stall.hist.csv"
check "history_json_carries_p99_ok" test "$(jget "$TEST_TMP/stall.json" \
	'all("p99_ok_ms" in r for r in d["total"]["history"]) and max(r["p99_ms"] for r in d["total"]["history"]) >= 100')" = True
check "fail_if_p99_counts_the_timeouts" bash -c "'$RINGLOAD' -q -R 200 -d 1s --timeout 100ms --fail-if 'p99>50ms' \
	'$BASE/?ttfb=500ms&every=10' > /dev/null 2>&1; test \$? = 3"
check "fail_if_p99_ok_leaves_them_out" bash -c "'$RINGLOAD' -q -R 200 -d 1s --timeout 100ms --fail-if 'p99_ok>50ms' \
	'$BASE/?ttfb=500ms&every=10' > /dev/null 2>&1"

# compare and merge carry both views
"$RINGLOAD" -q -c 2 -n 200 --json "$TEST_TMP/ok.json" "$BASE/" > /dev/null
"$RINGLOAD" compare "$TEST_TMP/ok.json" "$TEST_TMP/stall.json" > "$TEST_TMP/cmp.txt"
check "compare_shows_latency_ok" grep -q '^  latency ok p99 ms' "$TEST_TMP/cmp.txt"
"$RINGLOAD" merge -o "$TEST_TMP/merged.json" "$TEST_TMP/stall.json" "$TEST_TMP/stall.json" 2> "$TEST_TMP/merge.err"
check "merge_sums_latency_ok_exactly" test "$(python3 - "$TEST_TMP/stall.json" "$TEST_TMP/merged.json" <<'PY'
import json, sys
a, m = (json.load(open(p)) for p in sys.argv[1:])
print(m["total"]["latency_ok_ms"]["count"] == 2 * a["total"]["latency_ok_ms"]["count"]
      and m["total"]["latency_ok_ms"]["p99"] == a["total"]["latency_ok_ms"]["p99"]
      and m["total"]["latency_ms"]["count"] == 2 * a["total"]["requests"])
PY
)" = True

# timeouts on time: with --timeout 100ms and a 300 ms server delay every call ends between
# 100 and 102 ms (gRPC: DEADLINE_EXCEEDED, as grpc-go counts it; HTTP/1.1 and h2c: timeout);
# an ASan build's loop runs a few times slower, so there the bound is 106 ms. The bound is
# the loop's wake-up on a shared machine as much as the timer's: a run out of bounds is
# run again, up to three times, so a timer that fires late every time still fails, and a
# CI neighbour's burst does not.
LATE=102
san_build && LATE=106
all_on_time() { # NAME JSON CATEGORY -- COMMAND...
	local name=$1 json=$2 cat=$3
	shift 4
	on_time "$name" "$json" \
		'd["total"]["errors"].get("'"$cat"'", 0) == d["total"]["requests"] == d["total"]["latency_ms"]["count"] > 0 and 100 <= d["total"]["latency_ms"]["min"] and d["total"]["latency_ms"]["max"] <= '"$LATE" \
		'"min %.3f ms, max %.3f ms over %d" % (d["total"]["latency_ms"]["min"], d["total"]["latency_ms"]["max"], d["total"]["latency_ms"]["count"])' \
		-- "$@"
}
all_on_time grpc_deadline_sample_between_100_and_102_ms "$TEST_TMP/dl.json" grpc_DEADLINE_EXCEEDED -- \
	"$RINGLOAD" -q -o json --grpc api.performance.UserService/GetUser --data '{"user_id": 3}' \
	-H 'x-ttfb: 300ms' --timeout 100ms -c 4 -t 1 -m 4 -n 64 "$BASE/"
all_on_time h1_timeout_sample_between_100_and_102_ms "$TEST_TMP/h1to.json" timeout -- \
	"$RINGLOAD" -q -o json --timeout 100ms -c 8 -t 1 -n 40 "$BASE/?ttfb=300ms"
# one keep-alive connection: nine quick responses, then a stall; its timer was armed for
# an earlier request and moves on when that moment comes, so the stall still ends on time
on_time h1_keepalive_timeout_on_time "$TEST_TMP/h1ka.json" \
	'd["total"]["errors"].get("timeout", 0) == 3 and d["total"]["successful"] == 27 and 100 <= d["total"]["latency_ms"]["max"] <= '"$LATE" \
	'"max %.3f ms" % d["total"]["latency_ms"]["max"]' -- \
	"$RINGLOAD" -q -o json --timeout 100ms -c 1 -t 1 -n 30 "$BASE/?ttfb=300ms&every=10"
# the same on one HTTP/2 stream: reads leave the stream timer where it was (armed for an
# earlier request), and it moves on when that moment comes
on_time h2_keepalive_timeout_on_time "$TEST_TMP/h2ka.json" \
	'd["total"]["errors"].get("timeout", 0) == 3 and d["total"]["successful"] == 27 and 100 <= d["total"]["latency_ms"]["max"] <= '"$LATE" \
	'"max %.3f ms" % d["total"]["latency_ms"]["max"]' -- \
	"$RINGLOAD" -q -o json --h2 --timeout 100ms -c 1 -t 1 -m 1 -n 30 "$BASE/?ttfb=300ms&every=10"
all_on_time h2_timeout_sample_between_100_and_102_ms "$TEST_TMP/h2to.json" timeout -- \
	"$RINGLOAD" -q -o json --h2 --timeout 100ms -c 2 -t 1 -m 8 -n 48 "$BASE/?ttfb=300ms"
# the same with the kernel's stamps: 16 streams on one thread, so from kernel 6.12 the
# closed loop reads responses in batches (lazy harvest), and the timeouts stay on time
all_on_time h2_batched_timeout_sample_between_100_and_102_ms "$TEST_TMP/h2tok.json" timeout -- \
	"$RINGLOAD" -q -o json --kernel-timestamps --h2 --timeout 100ms -c 2 -t 1 -m 8 -n 48 "$BASE/?ttfb=300ms"
if kernel_at_least 6 12; then
	check "timeouts_on_time_while_reading_in_batches" test "$(jget "$TEST_TMP/h2tok.json" 'd["config"]["engine"]["lazy_harvest"]')" = True
fi

# a gRPC message over --max-msg is RESOURCE_EXHAUSTED (as gRPC libraries count it)
"$RINGLOAD" -q -o json --grpc api.performance.UserService/GetUser --data '{"user_id": 3}' \
	-H 'x-size: 5000' --max-msg 1000 -c 2 -t 1 -n 50 "$BASE/" > "$TEST_TMP/big.json"
check "grpc_over_max_msg_is_resource_exhausted" test "$(jget "$TEST_TMP/big.json" \
	'(d["total"]["errors"].get("grpc_RESOURCE_EXHAUSTED"), d["total"]["status_codes"].get("RESOURCE_EXHAUSTED"), d["total"]["latency_ms"]["count"])')" = "(50, 50, 50)"
check "grpc_over_max_msg_accounting_holds" accounting_holds "$TEST_TMP/big.json"
