#!/usr/bin/env bash
# The binary's contract: exit codes, one-line errors naming the problem, pre-flight,
# result files written whole, SIGINT still printing results.
. "$(dirname "$0")/../lib.sh"

expect_usage_error() { # name needle args...
	local name=$1 needle=$2
	shift 2
	"$RINGLOAD" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	local rc=$?
	if [ "$rc" = 2 ] && [ "$(wc -l < "$TEST_TMP/err")" = 1 ] && grep -qF -- "$needle" "$TEST_TMP/err"; then
		ok "$name"
	else
		not_ok "$name" "exit $rc, stderr: $(cat "$TEST_TMP/err")"
	fi
}

expect_usage_error "bad_connections_exit_2" "-c" -c abc http://127.0.0.1:1/
expect_usage_error "bad_duration_exit_2" "-d" -d 5parsecs http://127.0.0.1:1/
expect_usage_error "unknown_flag_exit_2" "--bogus" --bogus http://127.0.0.1:1/
expect_usage_error "missing_url_exit_2" "no URL" -c 5
expect_usage_error "https_cacert_unreadable_exit_2" "--cacert" --cacert /nonexistent/ca.pem https://127.0.0.1:1/
expect_usage_error "bad_url_exit_2" "not-a-url" not-a-url
expect_usage_error "unresolvable_host_exit_2" "cannot resolve" http://no-such-host.invalid/
expect_usage_error "unwritable_json_path_exit_2_before_run" "/nonexistent-dir/r.json" \
	--json /nonexistent-dir/r.json http://127.0.0.1:1/

check "help_exits_0" bash -c "'$RINGLOAD' --help | grep -q -- '--connections'"
check "version_exits_0" bash -c "'$RINGLOAD' --version | grep -q '^ringload '"

DEAD=$(free_port) # nothing listens there
"$RINGLOAD" -c 2 -n 10 "http://127.0.0.1:$DEAD/" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
rc=$?
check "unreachable_target_exit_4" test "$rc" = 4
check "unreachable_target_says_why" grep -q "pre-flight" "$TEST_TMP/err"

"$RINGLOAD" --no-preflight -q -o json -c 2 -t 1 -n 10 "http://127.0.0.1:$DEAD/" > "$TEST_TMP/refused.json"
rc=$?
check "refused_connects_are_results_exit_0" test "$rc" = 0
check "refused_connects_counted_exactly" test "$(jget "$TEST_TMP/refused.json" \
	'(d["total"]["requests"], d["total"]["failed"], d["total"]["errors"].get("connect_refused"))')" = "(10, 10, 10)"
check "refused_accounting_holds" accounting_holds "$TEST_TMP/refused.json"

PORT=$(free_port)
start_nginx "$PORT" || { not_ok "nginx starts"; exit 1; }
URL="http://127.0.0.1:$PORT/"
"$RINGLOAD" --no-progress -c 4 -t 2 -d 30s "$URL" > "$TEST_TMP/int.txt" 2>&1 &
RL=$!
PIDS+=("$RL")
sleep 1
start=$(date +%s%N)
kill -INT "$RL"
wait "$RL"
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "sigint_exits_0" test "$rc" = 0
check "sigint_stops_within_a_second (${took}ms)" test "$took" -lt 1000
check "sigint_prints_results_so_far" bash -c "grep -q 'interrupted' '$TEST_TMP/int.txt' && grep -q 'Requests' '$TEST_TMP/int.txt'"

"$RINGLOAD" -q -c 2 -t 1 -n 100 --json "$TEST_TMP/f.json" --csv "$TEST_TMP/f.csv" "$URL"
check "json_file_written" test "$(jget "$TEST_TMP/f.json" 'd["total"]["requests"]')" = 100
check "csv_file_written" grep -qx 'total.requests,100' "$TEST_TMP/f.csv"
check "csv_has_every_json_total" python3 - "$TEST_TMP/f.json" "$TEST_TMP/f.csv" <<'PY'
import csv, json, sys
total = json.load(open(sys.argv[1]))["total"]
rows = {r["metric"]: r["value"] for r in csv.DictReader(open(sys.argv[2]))}
names = {"opened": "connections_opened"}
scalars = {k: v for k, v in total.items() if isinstance(v, (int, float))}
scalars.update({names.get(k, k): v for k, v in total["connections"].items()})
for k, v in scalars.items():
    assert "total." + k in rows, ("missing in the CSV", k)
    assert abs(float(rows["total." + k]) - v) < 1e-3, (k, v, rows["total." + k])
assert {"payload_bytes", "throughput_ok_rps", "payload_bytes_per_s"} <= set(scalars)
PY
check "no_temp_files_left" bash -c "! ls '$TEST_TMP' | grep -q '\.tmp\.'"
check "quiet_prints_nothing" test -z "$("$RINGLOAD" -q -c 1 -n 5 "$URL")"

# --fail-if: a CI gate, both ways
start_serve || { not_ok "serve starts"; exit 1; }
"$RINGLOAD" -q -c 2 -n 200 --fail-if "p99>2ms,error_rate>0%" "http://127.0.0.1:$SERVE_PORT/?ttfb=5ms" 2> "$TEST_TMP/th.err"
rc=$?
check "fail_if_breach_exit_3" test "$rc" = 3
check "fail_if_lists_breach" grep -q '^threshold breached: p99>2ms (p99 was [0-9.]*ms)' "$TEST_TMP/th.err"
check "fail_if_lists_only_breaches" bash -c "! grep -q error_rate '$TEST_TMP/th.err'"
"$RINGLOAD" -q -c 2 -n 200 --fail-if "p99>1s,error_rate>1%,rps<10,success_rate<99%" "http://127.0.0.1:$SERVE_PORT/" 2> "$TEST_TMP/th2.err"
rc=$?
check "fail_if_met_exit_0" test "$rc" = 0 -a ! -s "$TEST_TMP/th2.err"
"$RINGLOAD" -q -c 2 -n 100 --fail-if "error_rate>10%" "http://127.0.0.1:$SERVE_PORT/?status=503" 2>/dev/null
check "fail_if_error_rate_exit_3" test "$?" = 3
expect_usage_error "fail_if_unknown_metric_exit_2" "p42" --fail-if "p42>1ms" "http://127.0.0.1:$SERVE_PORT/"
expect_usage_error "fail_if_bad_value_exit_2" "p99>soon" --fail-if "p99>soon" "http://127.0.0.1:$SERVE_PORT/"

# the live progress line: on a terminal only, with p50/p99 so far, never with --no-progress
if command -v script > /dev/null; then
	script -qec "'$RINGLOAD' -c 4 -d 1200ms 'http://127.0.0.1:$SERVE_PORT/?ttfb=2ms' > /dev/null" "$TEST_TMP/tty.log" > /dev/null 2>&1
	check "progress_line_on_a_terminal" bash -c "tr '\r' '\n' < '$TEST_TMP/tty.log' | grep -Eq '\] [0-9.]+s/1.2s +[0-9.k]+ req/s +p50 [0-9.]+ms +p99 [0-9.]+ms +errors 0 +conns 4'"
	script -qec "'$RINGLOAD' --no-progress -c 4 -d 600ms 'http://127.0.0.1:$SERVE_PORT/' > /dev/null" "$TEST_TMP/tty2.log" > /dev/null 2>&1
	check "no_progress_flag_silences_it" bash -c "! grep -q 'req/s' '$TEST_TMP/tty2.log'"
fi
"$RINGLOAD" -c 4 -d 600ms "http://127.0.0.1:$SERVE_PORT/" > /dev/null 2> "$TEST_TMP/notty.err"
check "no_progress_when_not_a_terminal" test ! -s "$TEST_TMP/notty.err"

# the man page documents every flag --help lists (run's and serve's)
MAN="$(dirname "$0")/../../docs/ringload.1"
check "man_page_documents_every_flag" bash -c "for f in \$( { '$RINGLOAD' --help; '$RINGLOAD' serve --help; } | grep -o -- '--[a-z0-9-]*' | sort -u); do
	grep -q -- \"\$(echo \"\$f\" | sed 's/-/\\\\\\\\-/g')\" '$MAN' || { echo \"missing \$f\"; exit 1; }; done"
check "make_install_puts_binary_and_man_page" bash -c "cd '$(dirname "$0")/../..' && make -s install DESTDIR='$TEST_TMP/inst' PREFIX=/usr >/dev/null &&
	test -x '$TEST_TMP/inst/usr/bin/ringload' && test -f '$TEST_TMP/inst/usr/share/man/man1/ringload.1'"

# the layers: the engine knows no CLI or report header (so nothing it includes does
# either), serve includes no private engine header, and the connection code branches
# on no protocol (a protocol is a table in proto.h)
ROOT="$(dirname "$0")/../.."
check "engine_includes_no_cli_or_report_header" bash -c "! grep -hE '^#include \"(ringload/(options|report|scenario|thresholds|units|result_json)\.h|(\.\./)?(cli|report)/)' \
	'$ROOT'/src/engine/*.[ch] '$ROOT'/include/ringload/{engine,target,stages,stats,errors,grpc,hist,h1,template}.h"
check "serve_includes_no_engine_header" bash -c "! grep -hE '^#include \"(\.\./)?engine/' '$ROOT'/src/serve/*.[ch]"
check "connection_code_has_no_protocol_branch" bash -c "! grep -nE 'RL_PROTO_|nghttp2_|rl_h1_' '$ROOT'/src/engine/{conn,transport,accounting,worker,run}.c"
