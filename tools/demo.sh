#!/usr/bin/env bash
# make demo: start `ringload serve` (plaintext, and a second one with --tls) on free
# loopback ports, load-test them, print the reports, stop the servers. Everything stays
# on 127.0.0.1.
set -eu
RINGLOAD=${1:-build/ringload}
LOG=$(mktemp /tmp/ringload-demo.XXXXXX)
TLS_LOG=$(mktemp /tmp/ringload-demo-tls.XXXXXX)
"$RINGLOAD" serve --port 0 > "$LOG" 2>&1 &
SERVE=$!
"$RINGLOAD" serve --tls --port 0 > "$TLS_LOG" 2>&1 &
SERVE_TLS=$!
trap 'kill "$SERVE" "$SERVE_TLS" 2>/dev/null; wait "$SERVE" "$SERVE_TLS" 2>/dev/null; rm -f "$LOG" "$TLS_LOG"' EXIT
. "$(dirname "$0")/serve-port.sh"
port_of() { # LOG SCHEME: the port a server printed, or the demo stops saying why
	local port
	port=$(serve_port "$1" "$2")
	[ -n "$port" ] || { echo "demo: ringload serve did not start: $(cat "$1")" >&2; exit 1; }
	echo "$port"
}
BASE="http://127.0.0.1:$(port_of "$LOG" http)"
TLS_BASE="https://127.0.0.1:$(port_of "$TLS_LOG" https)"
echo "demo: $(head -1 "$LOG")"
echo "demo: $(head -2 "$TLS_LOG" | tr '\n' ' ')"
echo
echo "== 1. HTTP/1.1, GET /api/users/42: 50 connections for 3 s (wrk's flags: -c -t -d)"
"$RINGLOAD" -c 50 -d 3s "$BASE/api/users/42"
echo
echo "== 2. The same over h2c (HTTP/2, prior knowledge): 10 connections x 10 streams (h2load's -c -m)"
"$RINGLOAD" --h2 -c 10 -m 10 -d 3s "$BASE/api/users/42"
echo
echo "== 3. gRPC api.performance.UserService/GetUser, user 42 (ghz-style --grpc and --data)"
"$RINGLOAD" --grpc api.performance.UserService/GetUser --data '{"user_id": 42}' -c 10 -m 10 -d 3s "$BASE"
echo
echo "== 4. The phases apart: the server waits 5 ms before its headers (ttfb) and 2 ms"
echo "==    before a 64 KiB body (download); 20 connections for 3 s"
HTML=$(dirname "$RINGLOAD")/demo-report.html
"$RINGLOAD" -c 20 -d 3s --html "$HTML" "$BASE/?ttfb=5ms&body_delay=2ms&size=65536"
echo
echo "== 5. HTTPS: h2 by ALPN over TLS 1.3 against serve --tls (its self-signed certificate:"
echo "==    -k skips the check), 10 connections x 10 streams; the handshake is its own phase"
"$RINGLOAD" -k --h2 -c 10 -m 10 -d 3s "$TLS_BASE/api/users/42"
echo
echo "demo: the HTML report of run 4 (charts, percentile spectrum, phases): $HTML"
echo "demo: the server's own view: $(curl -s "$BASE/stats" 2>/dev/null || echo "(curl not installed)")"
