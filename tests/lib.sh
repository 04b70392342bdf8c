# Shared helpers for integration tests: TAP-like results, ephemeral ports, servers that
# are started on 127.0.0.1 and always stopped, bounded waits. Source it, don't run it.
set -u
# serve_port LOG SCHEME: the port a `ringload serve --port 0` printed (shared with the
# demo and the bench; namespace scripts source it through SERVE_PORT_SH)
export SERVE_PORT_SH
SERVE_PORT_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/serve-port.sh"
. "$SERVE_PORT_SH"
: "${RINGLOAD:?RINGLOAD must point at the binary (tests/run.sh sets it)}"
TEST_TMP=$(mktemp -d /tmp/ringload-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	[ -n "${NGINX_PID:-}" ] && kill "$(cat "$NGINX_PID" 2>/dev/null)" 2>/dev/null
	rm -rf "$TEST_TMP"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }
# true when $RINGLOAD is the SAN=1 build (ASan+UBSan: slower, and no valgrind)
san_build() { [[ $RINGLOAD == */san/* ]]; }
# kernel_at_least MAJOR MINOR: the running kernel is that version or newer
kernel_at_least() { python3 -c 'import os,sys; sys.exit(0 if tuple(map(int, os.uname().release.split("-")[0].split(".")[:2])) >= (int(sys.argv[1]), int(sys.argv[2])) else 1)' "$1" "$2"; }
# not_ok NAME [DETAIL...]: each line of each detail as a "# " line (the runner keeps only
# those, so a sanitizer's report shows whole, at most 24 lines of it)
not_ok() {
	echo "not ok - $1"
	shift
	local l
	for l in "$@"; do sed 's/^/# /' <<<"$l" | head -n 24; done
}
# check NAME COMMAND...: ok when the command succeeds
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

# An ephemeral port that was free a moment ago (the kernel picks it).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (at most 5 s).
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# nginx_run LOG_FORMAT HTTP_BODY: nginx with one worker, daemonized, its access log (format
# LOG_FORMAT) in $TEST_TMP/access.log and everything else under $TEST_TMP/nginx; HTTP_BODY
# is the rest of the http {} block (server blocks, ssl settings). Sets NGINX_PID. With
# NGINX_IN set (ip netns exec NS), nginx runs in that network namespace.
nginx_run() {
	local format=$1 body=$2
	mkdir -p "$TEST_TMP/nginx"
	cat > "$TEST_TMP/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $TEST_TMP/nginx/nginx.pid;
error_log $TEST_TMP/nginx/error.log;
events { worker_connections 4096; }
http {
  log_format rl '$format';
  access_log $TEST_TMP/access.log rl;
  client_body_temp_path $TEST_TMP/nginx;
  proxy_temp_path $TEST_TMP/nginx;
  fastcgi_temp_path $TEST_TMP/nginx;
  uwsgi_temp_path $TEST_TMP/nginx;
  scgi_temp_path $TEST_TMP/nginx;
$body
}
CONF
	NGINX_PID="$TEST_TMP/nginx/nginx.pid"
	${NGINX_IN:-} nginx -c "$TEST_TMP/nginx/nginx.conf" -p "$TEST_TMP/nginx" -e "$TEST_TMP/nginx/error.log" \
		2>>"$TEST_TMP/nginx/error.log"
}

# start_nginx PORT [EXTRA_SERVER_DIRECTIVES]: nginx answering "hello from nginx" on
# 127.0.0.1:PORT (and 404 on /missing)
start_nginx() {
	local port=$1 extra=${2:-}
	nginx_run '$request $status $http_content_length $http_x_request_id' "  server {
    listen 127.0.0.1:$port;
    $extra
    location / { return 200 \"hello from nginx\\n\"; }
    location /missing { return 404; }
  }" && wait_port "$port"
}

# nginx writes its access log as requests finish: wait until it stops growing.
log_lines() {
	local f=$1 last=-1 n
	for _ in $(seq 50); do
		n=$(wc -l < "$f" 2>/dev/null || echo 0)
		[ "$n" = "$last" ] && break
		last=$n
		sleep 0.1
	done
	echo "$n"
}

# jget FILE EXPR: evaluates a Python expression over the JSON document `d`.
jget() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# until_holds JSON CONDITION SPREAD -- COMMAND...: COMMAND's JSON into JSON, up to three
# times, until CONDITION (a Python expression over d) holds; SPREAD describes a run out of
# bounds. For bounds that are the loop's wake-up on a shared machine as much as the code's:
# a code that misses every time still fails, and a CI neighbour's burst does not (a try
# out of bounds waits a second, then two, to let a burst of several seconds pass).
until_holds() {
	local json=$1 cond=$2 spread=$3 try
	shift 4
	for try in 1 2 3; do
		"$@" > "$json"
		[ "$(jget "$json" "$cond")" = True ] && return
		echo "# try $try out of bounds ($(jget "$json" "$spread"))"
		[ "$try" -lt 3 ] && sleep "$try"
	done
}
# on_time NAME JSON CONDITION SPREAD -- COMMAND...: until_holds, then the check
on_time() {
	local name=$1 json=$2 cond=$3 spread=$4
	shift
	until_holds "$@"
	check "$name ($(jget "$json" "$spread"))" test "$(jget "$json" "$cond")" = True
}

# The accounting identity every result must satisfy, for total and each target.
accounting_holds() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["targets"] + [d["total"]]:
    assert s["requests"] == s["successful"] + s["failed"], s
    assert s["failed"] == sum(s["errors"].values()), (s["failed"], s["errors"])
    # a response with a status (HTTP, or gRPC) is in status_codes; its failure, if it is
    # one, is the http_/grpc_ error or the check_failed beside it; every other error had
    # no status
    assert sum(s["status_codes"].values()) + sum(v for k, v in s["errors"].items()
                                                 if not k.startswith(("http_", "grpc_")) and k != "check_failed") == s["requests"]
PY
}

# start_serve [ARGS]: `ringload serve` on an ephemeral port it picks and prints; sets
# SERVE_PORT and SERVE_PID.
start_serve() {
	"$RINGLOAD" serve --port 0 "$@" > "$TEST_TMP/serve.out" 2>&1 &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	SERVE_PORT=$(serve_port "$TEST_TMP/serve.out" 'https\?')
	[ -n "$SERVE_PORT" ]
}

# start_grpc_peer SCRIPT ARGS...: one of the python3-grpcio servers in tests/integration
# (grpc_harness.py prints "port N"); sets PEER_PID and PEER_PORT.
start_grpc_peer() {
	local out="$TEST_TMP/peer.$RANDOM.out"
	/usr/bin/python3 "$@" > "$out" 2>&1 &
	PEER_PID=$!
	PIDS+=("$PEER_PID")
	PEER_PORT=""
	for _ in $(seq 100); do
		PEER_PORT=$(awk '/^port/ { print $2 }' "$out")
		[ -n "$PEER_PORT" ] && return 0
		sleep 0.1
	done
	return 1
}
