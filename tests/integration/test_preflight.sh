#!/usr/bin/env bash
# The pre-flight speaks each target's protocol: one real request per target (HTTP/1.1,
# HTTP/2, a gRPC call), marked x-ringload-preflight: 1, seen by the server, outside the
# run's counts; what it got is said before the run, and the run goes on.
# --no-preflight-request leaves it out.
. "$(dirname "$0")/../lib.sh"

H1_PORT=$(free_port)
H2_PORT=$(free_port)
nginx_run '$server_port $request_uri $status $http_x_ringload_preflight' "  server {
    listen 127.0.0.1:$H1_PORT;
    location / { return 200 \"hello\\n\"; }
    location /missing { return 404; }
  }
  server {
    listen 127.0.0.1:$H2_PORT http2;
    location / { return 200 \"hello\\n\"; }
  }" && wait_port "$H1_PORT" && wait_port "$H2_PORT" ||
	{ not_ok "nginx starts" "$(cat "$TEST_TMP/nginx/error.log")"; exit 1; }
cd "$TEST_TMP" || exit 1

# NAME WANT_LINES WANT_MARKED: nginx's log against the run's JSON (r.json)
logged() {
	local name=$1 lines=$2 marked=$3 n
	n=$(log_lines access.log)
	check "$name (nginx logged $n, $(grep -c ' 1$' access.log) marked)" \
		test "$n,$(grep -c ' 1$' access.log),$(jget r.json '(d["preflight_requests"], d["total"]["requests"])')" = \
		"$lines,$marked,($marked, $((lines - marked)))"
}

: > access.log
"$RINGLOAD" -q --json r.json -c 4 -t 1 -n 300 "http://127.0.0.1:$H1_PORT/" "http://127.0.0.1:$H1_PORT/missing" 2> h1.err
logged "preflight_request_one_per_target_h1" 302 2
check "preflight_request_is_the_targets_own" test "$(grep -c "^$H1_PORT /missing 404 1$" access.log)" = 1
check "preflight_request_failure_said_before_the_run" \
	grep -q "/missing: pre-flight request failed: http_404; the run goes on" h1.err
check "preflight_request_success_says_nothing" bash -c "! grep -q 'http://127.0.0.1:$H1_PORT/: pre-flight' h1.err"

: > access.log
"$RINGLOAD" -q --json r.json --h2 -c 2 -m 4 -t 1 -n 200 "http://127.0.0.1:$H2_PORT/" 2> h2.err
logged "preflight_request_one_per_target_h2c" 201 1

: > access.log
"$RINGLOAD" -q --json r.json --no-preflight-request -c 2 -t 1 -n 200 "http://127.0.0.1:$H1_PORT/" 2> none.err
logged "no_preflight_request_makes_none" 200 0

# connect refused is still exit 4 before any request
rc=0
"$RINGLOAD" -q -n 10 "http://127.0.0.1:$(free_port)/" 2> refused.err || rc=$?
check "preflight_unreachable_exit_4 (rc $rc)" bash -c "test $rc = 4 && grep -q 'did not answer the pre-flight connect' refused.err"

# ringload serve answers it and counts it nowhere, not even in every=N
start_serve || { not_ok "serve starts"; exit 1; }
SBASE="http://127.0.0.1:$SERVE_PORT"
stats() { curl -s "$SBASE/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
"$RINGLOAD" -q -c 2 -n 100 "$SBASE/" 2>/dev/null
"$RINGLOAD" -q --h2 -c 2 -n 100 "$SBASE/" 2>/dev/null
"$RINGLOAD" -q --grpc api.performance.UserService/GetUser -c 2 -n 100 "$SBASE" 2>/dev/null
check "serve_leaves_preflight_requests_out" test "$(stats '(d["total_requests"], [d["per_protocol"][p]["requests"] for p in ("http1", "h2", "grpc")])')" = \
	"(300, [100, 100, 100])"
"$RINGLOAD" -q -o json -c 1 -n 19 --timeout 50ms "$SBASE/?ttfb=200ms&every=10" > every.json 2>/dev/null
# the 10th request of the run is the slow one (counted from the pre-flight, the 9th and 19th)
check "every_n_unmoved_by_the_preflight" test "$(jget every.json '(d["total"]["errors"].get("timeout"), d["total"]["successful"])')" = "(1, 18)"

"$RINGLOAD" -q -c 1 -n 10 --grpc foo.Bar/Baz "$SBASE" 2> grpc.err
check "preflight_grpc_call_failure_said" grep -q "pre-flight request failed: grpc_UNIMPLEMENTED" grpc.err

# a scenario's target is named by its name, not its templated URL
DEAD=$(free_port)
cat > names.json <<JSON
{"targets": [{"name": "users", "url": "$SBASE/api/users/{{randint 1 10}}?status=503"},
             {"name": "gone", "url": "http://127.0.0.1:$DEAD/x/{{randint 1 10}}"}]}
JSON
rc=0
"$RINGLOAD" -q -n 10 --scenario names.json --allow-unreachable 2> names.err || rc=$?
check "preflight_names_scenario_targets (rc $rc)" bash -c "grep -q '^ringload: gone (127.0.0.1:$DEAD) did not answer the pre-flight connect' names.err &&
	grep -q '^ringload: users: pre-flight request failed: http_503' names.err && ! grep -q 'randint' names.err"
