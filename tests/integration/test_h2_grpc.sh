#!/usr/bin/env bash
# HTTP/2 and gRPC against real servers: nginx (h2c) and nghttpd count exactly what
# ringload sent; a python3-grpcio server's own per-status counts equal ringload's;
# `ringload serve` shows DEADLINE_EXCEEDED and GOAWAY handling.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
start_nginx "$PORT" "http2 on;" 2>/dev/null || start_nginx "$PORT"
# nginx 1.22 takes http2 on the listen line: rewrite the config if "http2 on" was refused
if ! grep -q "listen 127.0.0.1:$PORT http2" "$TEST_TMP/nginx/nginx.conf"; then
	kill "$(cat "$NGINX_PID")" 2>/dev/null
	sleep 0.2
	sed -i "s/listen 127.0.0.1:$PORT;/listen 127.0.0.1:$PORT http2;/; s/http2 on;//" "$TEST_TMP/nginx/nginx.conf"
	nginx -c "$TEST_TMP/nginx/nginx.conf" -p "$TEST_TMP/nginx" -e "$TEST_TMP/nginx/error.log" && wait_port "$PORT"
fi
: > "$TEST_TMP/access.log"
"$RINGLOAD" -q --h2 -o json --no-preflight-request -c 4 -t 2 -m 16 -n 20000 "http://127.0.0.1:$PORT/" > "$TEST_TMP/n.json"
logged=$(log_lines "$TEST_TMP/access.log")
check "nginx_h2c_20000_exact (nginx logged $logged)" test "$logged" = 20000
check "nginx_h2c_logged_as_http2" test "$(grep -c 'HTTP/2.0 200' "$TEST_TMP/access.log")" = 20000
check "nginx_h2c_ringload_counts" test "$(jget "$TEST_TMP/n.json" '(d["total"]["requests"], d["total"]["successful"])')" = "(20000, 20000)"
check "nginx_h2c_accounting_holds" accounting_holds "$TEST_TMP/n.json"

NPORT=$(free_port)
mkdir -p "$TEST_TMP/docroot"
echo "hello from nghttpd" > "$TEST_TMP/docroot/index.html"
nghttpd --no-tls -v -d "$TEST_TMP/docroot" "$NPORT" > "$TEST_TMP/nghttpd.log" 2>&1 &
PIDS+=($!)
wait_port "$NPORT" || not_ok "nghttpd starts"
"$RINGLOAD" -q --h2 -o json --no-preflight-request -c 2 -t 1 -m 16 -n 20000 "http://127.0.0.1:$NPORT/index.html" > "$TEST_TMP/ng.json"
sleep 0.5
served=$(grep -c 'recv (stream_id=[0-9]*) :path: /index.html' "$TEST_TMP/nghttpd.log")
check "nghttpd_20000_exact (nghttpd saw $served)" test "$served" = 20000
check "nghttpd_ringload_counts" test "$(jget "$TEST_TMP/ng.json" '(d["total"]["requests"], d["total"]["successful"], d["total"]["status_codes"])')" = "(20000, 20000, {'200': 20000})"

# --h2-window: our SETTINGS carry it, and 1 MiB bodies through a 64 KiB window arrive
# whole only if our WINDOW_UPDATEs (stream and connection) keep the server sending
head -c 1048576 /dev/zero | tr '\0' 'w' > "$TEST_TMP/docroot/big.bin"
window_run() { # NAME FLAGS...: 8 downloads of big.bin; the server's log of that run in NAME.log
	local before name=$1
	shift
	before=$(wc -l < "$TEST_TMP/nghttpd.log")
	"$RINGLOAD" -q --h2 "$@" -o json -c 1 -t 1 -m 4 -n 8 --timeout 20s \
		"http://127.0.0.1:$NPORT/big.bin" > "$TEST_TMP/$name.json"
	sleep 0.3
	tail -n +"$((before + 1))" "$TEST_TMP/nghttpd.log" > "$TEST_TMP/$name.log"
}
window_updates() { grep -c "recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=$2>" "$TEST_TMP/$1.log"; }
window_run w64k --h2-window 65535
window_run w4m --h2-window 4194304
window_run wbits -w 14 -W 17 # h2load's spelling: 16 KiB streams in a 128 KiB connection
outcome() { jget "$TEST_TMP/$1.json" '(d["total"]["successful"], d["total"]["avg_payload_bytes"])'; }
check "h2_window_downloads_exact" test "$(outcome w64k) $(outcome w4m) $(outcome wbits)" = \
	"(8, 1048576.0) (8, 1048576.0) (8, 1048576.0)"
check "h2_window_in_our_settings" bash -c "grep -q 'SETTINGS_INITIAL_WINDOW_SIZE(0x04):65535]' '$TEST_TMP/w64k.log' &&
	grep -q 'SETTINGS_INITIAL_WINDOW_SIZE(0x04):4194304]' '$TEST_TMP/w4m.log' &&
	grep -q 'SETTINGS_INITIAL_WINDOW_SIZE(0x04):16383]' '$TEST_TMP/wbits.log'"
# 8 MiB through a 64 KiB connection window: at least 8 MiB / 64 KiB updates on stream 0,
# and every stream was reopened too; with 4 MiB windows a stream needs none
check "h2_window_updates_sent (64k: $(window_updates w64k 0) on the connection, 4m: $(window_updates w4m 1) on stream 1)" \
	test "$(window_updates w64k 0)" -ge 128 -a "$(window_updates w64k 1)" -ge 16 -a "$(window_updates w4m 1)" = 0
# -W 17: the connection window opens from 65535 to 131071 at once, then is kept open
check "h2_window_bits_connection_update (increments: $(grep -A1 'recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>' "$TEST_TMP/wbits.log" | grep -o 'increment=[0-9]*' | head -1))" \
	bash -c "grep -A1 'recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>' '$TEST_TMP/wbits.log' | grep -m1 -q 'window_size_increment=65536)'"
check "h2_window_out_of_range_exit_2" bash -c "'$RINGLOAD' --h2 --h2-window 1000 http://127.0.0.1:1/ 2>&1 | grep -q -- '--h2-window' &&
	{ '$RINGLOAD' --h2 --h2-window 2147483648 http://127.0.0.1:1/ 2>/dev/null; test \$? = 2; }"

# python3-grpcio: its own status counts against ours
protoc --proto_path="$(dirname "$0")/../../proto" --python_out="$TEST_TMP" user_service.proto
start_grpc_peer "$(dirname "$0")/grpc_server.py" "$TEST_TMP" "$TEST_TMP/counts.json" || not_ok "grpc server starts"
GPID=$PEER_PID
GPORT=$PEER_PORT
"$RINGLOAD" -q -o json --no-preflight-request --grpc api.performance.UserService/GetUser --data '{"user_id": "42"}' \
	-c 4 -t 2 -m 8 -n 3000 "http://127.0.0.1:$GPORT/" > "$TEST_TMP/g.json"
"$RINGLOAD" -q -o json --no-preflight-request --grpc api.performance.UserService/GetUser --data '{"userId": 20000}' \
	-c 2 -t 1 -m 4 -n 500 "http://127.0.0.1:$GPORT/" > "$TEST_TMP/g2.json"
kill -TERM "$GPID"
wait "$GPID"
check "grpc_server_counts_equal_ringload_counts" python3 - "$TEST_TMP/counts.json" "$TEST_TMP/g.json" "$TEST_TMP/g2.json" <<'PY'
import json, sys
server = json.load(open(sys.argv[1]))
ours = {}
for f in sys.argv[2:]:
    for k, v in json.load(open(f))["total"]["status_codes"].items():
        ours[k] = ours.get(k, 0) + v
assert server == ours, (server, ours)
assert server.get("UNAVAILABLE", 0) > 0 and server.get("NOT_FOUND", 0) > 0 and server.get("OK", 0) > 0
PY
check "grpc_failures_named" test "$(jget "$TEST_TMP/g.json" \
	'd["total"]["errors"].get("grpc_UNAVAILABLE") == d["total"]["status_codes"].get("UNAVAILABLE") == d["total"]["failed"]')" = True
check "grpc_accounting_holds" accounting_holds "$TEST_TMP/g.json"
check "grpc_payload_is_message_bytes" test "$(jget "$TEST_TMP/g.json" '0 < d["total"]["avg_payload_bytes"] < 100')" = True

# a service defined only in a test .proto, through --proto and --protoset: the server
# checks every field arrived with the value given in --data
PROTO_DIR="$(dirname "$0")/../proto"
protoc --proto_path="$PROTO_DIR" --python_out="$TEST_TMP" every_kind.proto
protoc --proto_path="$PROTO_DIR" --include_imports -o "$TEST_TMP/every_kind.pb" every_kind.proto
start_grpc_peer "$(dirname "$0")/grpc_check_server.py" "$TEST_TMP" "$PROTO_DIR/every_kind.json" \
	"$TEST_TMP/check.json" || not_ok "grpc check server starts"
CPID=$PEER_PID
CPORT=$PEER_PORT
"$RINGLOAD" -q -o json --grpc ringtest.Checker/Check --proto "$PROTO_DIR/every_kind.proto" \
	--data "@$PROTO_DIR/every_kind.json" -c 2 -t 1 -m 4 -n 100 "http://127.0.0.1:$CPORT/" > "$TEST_TMP/p1.json"
"$RINGLOAD" -q -o json --grpc ringtest.Checker/Check --protoset "$TEST_TMP/every_kind.pb" \
	--data "@$PROTO_DIR/every_kind.json" -c 2 -t 1 -m 4 -n 100 "http://127.0.0.1:$CPORT/" > "$TEST_TMP/p2.json"
kill -TERM "$CPID"
wait "$CPID"
# 2 x 100 calls, and each run's pre-flight call: the same message, every field in it
check "proto_service_every_field_arrived (server: $(cat "$TEST_TMP/check.json" 2>/dev/null))" \
	test "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])))' "$TEST_TMP/check.json"),$(jget "$TEST_TMP/p1.json" \
	'(d["preflight_requests"], d["total"]["requests"])')" = "{'ok': 202, 'mismatch': 0},(1, 100)"
check "proto_service_counted_ok" test "$(jget "$TEST_TMP/p1.json" 'd["total"]["status_codes"]') $(jget "$TEST_TMP/p2.json" 'd["total"]["status_codes"]')" = "{'OK': 100} {'OK': 100}"
check "proto_unknown_field_exit_2" bash -c "'$RINGLOAD' --grpc ringtest.Checker/Check --proto '$PROTO_DIR/every_kind.proto' \
	--data '{\"msg\": {\"nope\": 1}}' http://127.0.0.1:1/ 2>&1 | grep -q \"unknown field 'msg.nope'\""
check "proto_unknown_method_exit_2" bash -c "'$RINGLOAD' --grpc ringtest.Checker/Nope --proto '$PROTO_DIR/every_kind.proto' \
	http://127.0.0.1:1/ 2>/dev/null; test \$? = 2"
check "protoset_garbage_exit_2" bash -c "'$RINGLOAD' --grpc a.B/C --protoset '$PROTO_DIR/every_kind.json' \
	http://127.0.0.1:1/ 2>&1 | grep -q 'FileDescriptorSet'"

start_serve || { not_ok "serve starts"; exit 1; }
# -m: each connection keeps that many streams open at once, never more; the server's
# high-water mark of requests in flight is c x m (first here, so nothing before counts)
"$RINGLOAD" -q -o json --h2 -c 3 -t 1 -m 12 -n 72 "http://127.0.0.1:$SERVE_PORT/?ttfb=300ms" > "$TEST_TMP/m.json"
max_in_flight=$(curl -s "http://127.0.0.1:$SERVE_PORT/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_in_flight"])')
check "h2_streams_in_flight_c_times_m (server saw $max_in_flight at once)" test "$max_in_flight" = 36
check "h2_streams_in_flight_all_ok" test "$(jget "$TEST_TMP/m.json" 'd["total"]["successful"]')" = 72
# every frame queued in a loop turn leaves in one send: the preface, SETTINGS and all
# 16 HEADERS in the first, the ACK of the server's SETTINGS in the next (the client's
# own count of its send SQEs, in the JSON)
"$RINGLOAD" -q -o json --h2 -c 1 -t 1 -m 16 -n 16 "http://127.0.0.1:$SERVE_PORT/?ttfb=200ms" > "$TEST_TMP/one.json"
check "h2_turn_frames_in_one_send ($(jget "$TEST_TMP/one.json" 'd["client"]["sends"]') sends for 16 streams)" \
	test "$(jget "$TEST_TMP/one.json" '(d["total"]["successful"], d["client"]["sends"] <= 2, d["client"]["recv_completions"] >= 1)')" = "(16, True, True)"
"$RINGLOAD" -q -o json --grpc api.performance.UserService/GetUser --data '{"user_id": 1}' \
	-H 'x-ttfb: 300ms' --timeout 100ms -c 2 -t 1 -m 4 -n 8 "http://127.0.0.1:$SERVE_PORT/" > "$TEST_TMP/dl.json"
check "grpc_deadline_exceeded_counted" test "$(jget "$TEST_TMP/dl.json" \
	'(d["total"]["requests"], d["total"]["status_codes"].get("DEADLINE_EXCEEDED"), d["total"]["errors"].get("grpc_DEADLINE_EXCEEDED"), d["total"]["timeouts"])')" = "(8, 8, 8, 8)"
"$RINGLOAD" -q -o json --grpc api.performance.UserService/GetUser --data '{"user_id": 1}' \
	-c 2 -t 1 -m 4 -n 2000 "http://127.0.0.1:$SERVE_PORT/" > "$TEST_TMP/ok.json"
# ghz's spellings: HOST:PORT, --call with a dot, --metadata as JSON, -z, --insecure
"$RINGLOAD" -q -o json --insecure --call api.performance.UserService.GetUser --data '{"user_id": 1}' \
	--metadata '{"x-status": "UNAVAILABLE"}' -c 1 -t 1 -m 4 -n 100 "127.0.0.1:$SERVE_PORT" > "$TEST_TMP/ghz.json"
check "grpc_ghz_spellings" test "$(jget "$TEST_TMP/ghz.json" '(d["total"]["status_codes"], d["targets"][0]["url"])')" = \
	"({'UNAVAILABLE': 100}, 'http://127.0.0.1:$SERVE_PORT/')"
check "grpc_against_serve_all_ok" test "$(jget "$TEST_TMP/ok.json" '(d["total"]["successful"], d["total"]["status_codes"])')" = "(2000, {'OK': 2000})"
"$RINGLOAD" -q -o json --h2 -c 2 -t 1 -m 8 -n 1000 "http://127.0.0.1:$SERVE_PORT/?close=1" > "$TEST_TMP/ga.json"
check "goaway_finish_reconnect_exact" test "$(jget "$TEST_TMP/ga.json" \
	'(d["total"]["requests"], d["total"]["successful"], d["total"]["connections"]["goaways"] > 0, d["total"]["connections"]["reconnects"] > 0)')" = "(1000, 1000, True, True)"
"$RINGLOAD" -q -o json --h2 -c 2 -t 1 -m 8 -n 500 "http://127.0.0.1:$SERVE_PORT/?ttfb=2ms&body_delay=3ms&size=20000" > "$TEST_TMP/ph.json"
check "h2_phases_measured_per_stream" test "$(jget "$TEST_TMP/ph.json" \
	'(d["total"]["ttfb_ms"]["p50"] >= 2, d["total"]["download_ms"]["p50"] >= 3, d["total"]["avg_payload_bytes"])')" = "(True, True, 20000.0)"

# templates in --data: {{seq}} from one thread gives ids 0, 1, ..., 10004: exactly 0 and
# 10001..10004 are outside 1..10000
"$RINGLOAD" -q -o json --grpc api.performance.UserService/GetUser --data '{"user_id": {{seq}}}' \
	-c 2 -t 1 -m 8 -n 10005 "http://127.0.0.1:$SERVE_PORT/" > "$TEST_TMP/tpl.json"
check "grpc_data_templates_per_request" test "$(jget "$TEST_TMP/tpl.json" 'd["total"]["status_codes"]')" = "{'OK': 10000, 'NOT_FOUND': 5}"
"$RINGLOAD" -q -o json --grpc ringtest.Checker/Check --proto "$PROTO_DIR/every_kind.proto" \
	--data '{"s": "user-{{randstr 6}}", "u32": "{{randint 1 9}}", "msg": {"i": {{randint 1 3}}}}' \
	-c 1 -t 1 -n 5 "http://127.0.0.1:$SERVE_PORT/" > "$TEST_TMP/tplp.json"
check "grpc_data_templates_through_proto" test "$(jget "$TEST_TMP/tplp.json" 'd["total"]["requests"]')" = 5
check "grpc_data_bad_template_exit_2" bash -c "'$RINGLOAD' --grpc api.performance.UserService/GetUser \
	--data '{\"user_id\": \"{{uuid}}\"}' http://127.0.0.1:1/ 2>&1 | grep -q \"'user_id' expects an int64\""

check "grpc_bad_data_exit_2" bash -c "'$RINGLOAD' --grpc api.performance.UserService/GetUser --data '{\"nope\": 1}' \
	http://127.0.0.1:1/ 2>&1 | grep -q \"unknown field 'nope'\""
check "grpc_bad_method_exit_2" bash -c "'$RINGLOAD' --grpc NoSlash http://127.0.0.1:1/ 2>/dev/null; test \$? = 2"
check "pipeline_with_h2_exit_2" bash -c "'$RINGLOAD' --h2 -P 4 http://127.0.0.1:1/ 2>&1 | grep -q -- '-m streams'"
