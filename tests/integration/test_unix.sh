#!/usr/bin/env bash
# Unix stream sockets as a transport: HTTP/1.1, h2c and gRPC against `ringload serve
# --unix`, HTTP/1.1 and h2c against nginx listening on Unix sockets, each with exact
# counts on both sides; the URL forms, curl's --unix-socket, and the bad-path exits.
. "$(dirname "$0")/../lib.sh"

SOCK="$TEST_TMP/serve.sock"
"$RINGLOAD" serve --unix "$SOCK" -t 2 > "$TEST_TMP/serve.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "serve_listens_on_unix_socket" test -S "$SOCK"
check "serve_says_where" grep -q "http://unix:$SOCK:/" "$TEST_TMP/serve.out"

serve_total() {
	curl -s --unix-socket "$SOCK" http://localhost/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_requests"])'
}

# exact NAME N ARGS...: ringload counts N, all successful, and serve's own count grows by N
exact() {
	local name=$1 n=$2
	shift 2
	local before after
	before=$(serve_total)
	"$RINGLOAD" -q -o json -n "$n" "$@" > "$TEST_TMP/$name.json" 2> "$TEST_TMP/$name.err"
	after=$(serve_total)
	local got
	got=$(jget "$TEST_TMP/$name.json" '(d["total"]["requests"], d["total"]["successful"])')
	# (a /stats poll is never counted itself)
	if [ "$got" = "($n, $n)" ] && [ $((after - before)) = "$n" ] && accounting_holds "$TEST_TMP/$name.json"; then
		ok "$name"
	else
		not_ok "$name" "ringload $got, serve counted $((after - before)), want $n" "$(cat "$TEST_TMP/$name.err")"
	fi
}

exact serve_h1_unix_exact 5000 -c 8 -t 2 "http://unix:$SOCK:/api/users/7"
exact serve_h1_unix_pipelined_exact 4000 -c 4 -P 8 "http://unix:$SOCK:/"
exact serve_h2c_unix_exact 6000 --h2 -c 4 -m 8 -t 2 "http://unix:$SOCK:/?size=100"
exact serve_grpc_unix_exact 3000 --grpc api.performance.UserService/GetUser --data '{"user_id": 5}' -c 2 "unix:$SOCK"
exact serve_unix_socket_flag_exact 1000 --unix-socket "$SOCK" -c 2 "http://example.test/api/users/9"
check "connect_time_measured_on_unix" test "$(jget "$TEST_TMP/serve_h1_unix_exact.json" \
	'd["total"]["connect_ms"]["count"] == 8 and d["total"]["connect_ms"]["max"] > 0')" = True

# bad paths: a socket that is not there fails the pre-flight, naming it; one too long for
# sun_path is bad usage
"$RINGLOAD" -n 5 "http://unix:$TEST_TMP/none.sock:/" > /dev/null 2> "$TEST_TMP/none.err"
rc=$?
check "missing_socket_exit_4 (rc $rc)" test "$rc" = 4
check "missing_socket_named" grep -q "$TEST_TMP/none.sock.*No such file or directory" "$TEST_TMP/none.err"
long="/tmp/$(printf 'x%.0s' $(seq 120)).sock"
"$RINGLOAD" -n 5 "http://unix:$long:/" > /dev/null 2> "$TEST_TMP/long.err"
rc=$?
check "too_long_path_exit_2 (rc $rc)" test "$rc" = 2
check "too_long_path_one_line" test "$(wc -l < "$TEST_TMP/long.err")" = 1
"$RINGLOAD" -n 5 --unix-socket "$long" http://x/ > /dev/null 2> "$TEST_TMP/long2.err"
rc=$?
check "too_long_unix_socket_flag_exit_2 (rc $rc)" test "$rc" = 2
"$RINGLOAD" serve --unix "$long" > /dev/null 2>&1
rc=$?
check "serve_too_long_path_exit_2 (rc $rc)" test "$rc" = 2

# nginx on two Unix sockets: HTTP/1.1 and h2c, counted in its own access log
H1="$TEST_TMP/nginx-h1.sock" H2="$TEST_TMP/nginx-h2.sock"
nginx_run '$request $status' "  server { listen unix:$H1; location / { return 200 \"hello over a unix socket\\n\"; } }
  server { listen unix:$H2 http2; location / { return 200 \"hello over h2c on a unix socket\\n\"; } }"
for _ in $(seq 100); do [ -S "$H1" ] && [ -S "$H2" ] && break; sleep 0.05; done

nginx_exact() { # NAME N PROTO-LINE ARGS...
	local name=$1 n=$2 line=$3
	shift 3
	: > "$TEST_TMP/access.log"
	"$RINGLOAD" -q -o json --no-preflight-request -n "$n" "$@" > "$TEST_TMP/$name.json" 2> "$TEST_TMP/$name.err"
	local logged got
	logged=$(log_lines "$TEST_TMP/access.log")
	got=$(jget "$TEST_TMP/$name.json" '(d["total"]["requests"], d["total"]["successful"])')
	if [ "$logged" = "$n" ] && [ "$(grep -c "$line" "$TEST_TMP/access.log")" = "$n" ] && [ "$got" = "($n, $n)" ]; then
		ok "$name"
	else
		not_ok "$name" "nginx logged $logged, ringload $got, want $n" "$(cat "$TEST_TMP/$name.err" "$TEST_TMP/nginx/error.log" | tail -5)"
	fi
}
nginx_exact nginx_h1_unix_exact 10000 'HTTP/1.1 200' -c 8 -t 2 "http://unix:$H1:/"
nginx_exact nginx_h2c_unix_exact 10000 'HTTP/2.0 200' --h2 -c 4 -m 16 -t 2 "http://unix:$H2:/"
