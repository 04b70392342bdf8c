#!/usr/bin/env bash
# HTTP/1.1 against a real nginx (Debian's nginx-light) on 127.0.0.1: exact request counts
# in nginx's own access log, with and without pipelining, across server-side connection
# closes, on every engine fallback, and the accounting identity in every result.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
# keepalive_requests 100: nginx closes every connection after 100 responses, so runs
# exercise Connection: close, pipelined requests it will not answer, and reconnects
start_nginx "$PORT" "keepalive_requests 100;" || { not_ok "nginx starts" "$(cat "$TEST_TMP/nginx/error.log")"; exit 1; }
URL="http://127.0.0.1:$PORT/"

exact_run() { # name expected-count ringload-args...
	local name=$1 want=$2
	shift 2
	: > "$TEST_TMP/access.log"
	if ! "$RINGLOAD" -q --no-preflight-request --json "$TEST_TMP/r.json" "$@" >"$TEST_TMP/out" 2>&1; then
		not_ok "$name" "ringload failed: $(cat "$TEST_TMP/out")"
		return
	fi
	local logged got ok_count
	logged=$(log_lines "$TEST_TMP/access.log")
	got=$(jget "$TEST_TMP/r.json" 'd["total"]["requests"]')
	ok_count=$(jget "$TEST_TMP/r.json" 'd["total"]["successful"]')
	if [ "$logged" = "$want" ] && [ "$got" = "$want" ] && [ "$ok_count" = "$want" ] &&
		accounting_holds "$TEST_TMP/r.json"; then
		ok "$name"
	else
		not_ok "$name" "nginx logged $logged, ringload counted $got ($ok_count ok), want $want"
	fi
}

exact_run "n_20000_exact_in_nginx_log" 20000 -c 10 -t 2 -n 20000 "$URL"
exact_run "n_20000_pipelined_8_exact_in_nginx_log" 20000 -c 10 -t 2 -P 8 -n 20000 "$URL"
exact_run "n_exact_with_one_connection_per_request_count" 777 -c 50 -t 2 -n 777 "$URL"
RINGLOAD_COMPAT=nodefer,nobufring,nofixed exact_run "n_exact_without_defer_bufring_fixed_files" 5000 \
	-c 8 -t 2 -P 4 -n 5000 "$URL"

check "reconnects_counted_when_server_closes" \
	test "$(jget "$TEST_TMP/r.json" 'd["total"]["connections"]["reconnects"] > 0')" = True

: > "$TEST_TMP/access.log"
"$RINGLOAD" -q -o json -c 4 -t 1 -n 300 "http://127.0.0.1:$PORT/missing" > "$TEST_TMP/404.json"
check "http_404_counted_as_failed" test "$(jget "$TEST_TMP/404.json" \
	'(d["total"]["failed"], d["total"]["errors"].get("http_404"), d["total"]["status_codes"]["404"])')" = "(300, 300, 300)"
check "http_404_accounting_holds" accounting_holds "$TEST_TMP/404.json"

: > "$TEST_TMP/access.log"
"$RINGLOAD" -q -o json --no-preflight-request -c 2 -t 1 -n 50 -b '{"id":1}' -H 'Content-Type: application/json' "$URL" > "$TEST_TMP/post.json"
check "body_sent_as_post" test "$(grep -c 'POST / HTTP/1.1 200' "$TEST_TMP/access.log")" = 50
check "bytes_sent_include_body" test "$(jget "$TEST_TMP/post.json" 'd["total"]["bytes_sent"] > 50 * 8')" = True

"$RINGLOAD" -q -o json -c 20 -t 2 -d 1s "$URL" > "$TEST_TMP/d.json"
check "duration_run_lasts_its_duration" test "$(jget "$TEST_TMP/d.json" '0.95 < d["duration_s"] < 1.5')" = True
check "duration_run_accounting_holds" accounting_holds "$TEST_TMP/d.json"
check "every_phase_measured" test "$(jget "$TEST_TMP/d.json" \
	'all(d["total"][k]["count"] > 0 for k in ("latency_ms","connect_ms","ttfb_ms","download_ms"))')" = True
check "ttfb_never_exceeds_latency" test "$(jget "$TEST_TMP/d.json" \
	'd["total"]["ttfb_ms"]["p50"] <= d["total"]["latency_ms"]["p50"]')" = True
check "client_cost_reported" test "$(jget "$TEST_TMP/d.json" \
	'd["client"]["cpu_us_per_request"] > 0 and d["client"]["max_rss_kb"] > 0')" = True
check "histogram_serialized" test "$(jget "$TEST_TMP/d.json" \
	'd["total"]["histogram"]["count"] == d["total"]["latency_ms"]["count"] and len(d["total"]["histogram"]["counts"]) > 0')" = True

"$RINGLOAD" -q -o csv -c 2 -t 1 -n 100 "$URL" > "$TEST_TMP/r.csv"
check "csv_has_header_and_counts" bash -c "head -1 '$TEST_TMP/r.csv' | grep -qx 'metric,value' &&
	grep -qx 'total.requests,100' '$TEST_TMP/r.csv' && grep -qx 'total.successful,100' '$TEST_TMP/r.csv'"

"$RINGLOAD" --no-progress -c 2 -t 1 -n 100 "$URL" > "$TEST_TMP/console.txt"
check "console_report_has_every_section" bash -c "for w in Requests Throughput Latency Connect TTFB Download \
	Payload Transfer Efficiency 'Status codes' Errors 'Client cost'; do grep -q \"\$w\" '$TEST_TMP/console.txt' || exit 1; done"

"$RINGLOAD" -q -o json -c 4 -t 2 -n 400 "$URL" "http://127.0.0.1:$PORT/missing" > "$TEST_TMP/two.json"
check "two_targets_measured_apart" test "$(jget "$TEST_TMP/two.json" \
	'(len(d["targets"]), d["targets"][0]["successful"] + d["targets"][1]["failed"], d["total"]["requests"])')" = "(2, 400, 400)"
