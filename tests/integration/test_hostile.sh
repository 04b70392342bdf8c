#!/usr/bin/env bash
# Servers that break the rules on purpose (tests/hostile/server.py). For each: the run
# ends on time, exits 0, counts the failure under its named category, and accounts for
# every request. The valid-but-unusual ones must succeed.
. "$(dirname "$0")/../lib.sh"
HOSTILE="$(dirname "$0")/../hostile/server.py"

# start_hostile MODE: sets HOSTILE_PORT
start_hostile() {
	local out="$TEST_TMP/hostile.$1.out"
	# emptied here, before the server starts: a mode started twice must never read the
	# port its first server (now gone) printed, which the background redirect truncates late
	: > "$out"
	python3 "$HOSTILE" "$1" 0 > "$out" 2>&1 &
	PIDS+=("$!")
	HOSTILE_PID=$!
	for _ in $(seq 100); do
		HOSTILE_PORT=$(sed -n 's/^port //p' "$out")
		[ -n "$HOSTILE_PORT" ] && return 0
		sleep 0.05
	done
	return 1
}

# hostile MODE MAX_SECONDS EXPECT [RINGLOAD ARGS...]: runs ringload against MODE
# (URL last), then checks the exit code, the time, the accounting and EXPECT, a Python
# expression over the total `t` (and `f`, the --failures rows).
hostile() {
	local mode=$1 max=$2 expect=$3
	shift 3
	start_hostile "$mode" || { not_ok "hostile_$mode${SUFFIX:-}" "server did not start"; return; }
	local json="$TEST_TMP/$mode.json" started ended rc
	started=$(date +%s%N)
	timeout -k 2 $((max + 10)) "$RINGLOAD" -q --json "$json" --failures "$TEST_TMP/$mode.failures" \
		"$@" "http://127.0.0.1:$HOSTILE_PORT/" 2> "$TEST_TMP/$mode.err"
	rc=$?
	ended=$(date +%s%N)
	kill "$HOSTILE_PID" 2>/dev/null
	local ms=$(((ended - started) / 1000000))
	if [ "$rc" != 0 ]; then
		not_ok "hostile_$mode${SUFFIX:-}" "exit $rc after ${ms} ms: $(head -c 300 "$TEST_TMP/$mode.err")"
	elif [ "$ms" -gt $((max * 1000)) ]; then
		not_ok "hostile_$mode${SUFFIX:-}" "took ${ms} ms, more than ${max} s"
	elif ! accounting_holds "$json" 2> "$TEST_TMP/$mode.acct"; then
		not_ok "hostile_$mode${SUFFIX:-}" "accounting: $(tail -1 "$TEST_TMP/$mode.acct")"
	else
		check "hostile_$mode${SUFFIX:-}" python3 - "$json" "$TEST_TMP/$mode.failures" "$expect" <<'PY'
import csv, json, sys
t = json.load(open(sys.argv[1]))["total"]
f = list(csv.DictReader(open(sys.argv[2])))
ok = eval(sys.argv[3])
if not ok:
    print("# expected", sys.argv[3])
    print("# total: requests", t["requests"], "successful", t["successful"], "errors", t["errors"],
          "status", t["status_codes"], "connections", t["connections"])
    print("# failures:", f)
sys.exit(0 if ok else 1)
PY
	fi
}

H1=(-t 1 -c 2 -d 1s --timeout 500ms)
failed_as() { # CATEGORY: every failure is CATEGORY, and there was at least one
	echo "t['requests'] > 0 and t['errors'].get('$1', 0) == t['failed'] > 0"
}
with_message() { # CATEGORY WORDS: ... and the --failures row names the problem
	echo "$(failed_as "$1") and any(r['category'] == '$1' and '$2' in r['first_message'] for r in f)"
}
succeeds='t["requests"] > 0 and t["successful"] == t["requests"] and t["failed"] == 0'

# HTTP/1.1, broken
hostile garbage_status 3 "$(failed_as protocol)" "${H1[@]}"
check "preflight_request_says_garbage_before_the_run" \
	grep -q "pre-flight request failed: protocol (.*); the run goes on" "$TEST_TMP/garbage_status.err"
hostile nonnumeric_status 3 "$(failed_as protocol)" "${H1[@]}"
hostile header_without_colon 3 "$(failed_as protocol)" "${H1[@]}"
hostile nul_in_header 3 "$(failed_as protocol)" "${H1[@]}"
hostile header_block_1mib 3 "$(failed_as protocol)" "${H1[@]}"
hostile negative_content_length 3 "$(failed_as protocol)" "${H1[@]}"
hostile overflowing_content_length 3 "$(failed_as protocol)" "${H1[@]}"
hostile conflicting_content_length 3 "$(failed_as protocol)" "${H1[@]}"
hostile invalid_chunk_size 3 "$(failed_as protocol)" "${H1[@]}"
hostile overflowing_chunk_size 3 "$(failed_as protocol)" "${H1[@]}"
hostile short_body_then_close 3 "$(failed_as eof)" "${H1[@]}"
hostile close_before_any_byte 3 "$(failed_as eof)" "${H1[@]}"
hostile rst_mid_body 3 "$(failed_as reset)" "${H1[@]}"
hostile slowloris 4 "$(failed_as timeout)" -t 1 -c 2 -d 2500ms --timeout 1s
hostile never_answers 3 "$(failed_as timeout)" "${H1[@]}"
hostile unrequested_bytes 3 "$succeeds and t['connections']['closed_unsolicited_bytes'] > 0" "${H1[@]}"
# HTTP/1.1, valid but unusual
hostile chunked_extensions_trailers 3 "$succeeds" "${H1[@]}"
hostile interim_100_103 3 "$succeeds" "${H1[@]}"
hostile http10_body_until_close 3 "$succeeds and t['payload_bytes'] == 3000 * t['successful']" "${H1[@]}"
hostile headers_16k 3 "$succeeds" "${H1[@]}"
hostile one_byte_at_a_time 3 "$succeeds" "${H1[@]}"

# HTTP/2
H2=(--h2 -t 1 -c 2 -m 4 -d 1s --timeout 500ms)
# -n with every stream timing out: each cancelled stream's slot takes the next request
hostile h2_never_answers 3 "$(failed_as timeout) and t['requests'] == 6" --h2 -t 1 -c 1 -m 2 -n 6 --timeout 300ms
# (the pre-flight sees it first: exit 4, "not an HTTP/2 server"; without it, a run of
# protocol errors)
hostile h2_bad_preface 3 "$(failed_as protocol)" --no-preflight "${H2[@]}"
start_hostile h2_bad_preface
"$RINGLOAD" -q --h2 -n 10 "http://127.0.0.1:$HOSTILE_PORT/" > /dev/null 2> "$TEST_TMP/bad_preface.err"
rc=$?
kill "$HOSTILE_PID" 2>/dev/null
check "h2_preflight_not_an_http2_server_exit_4 (rc $rc)" bash -c "test $rc = 4 && grep -q 'not an HTTP/2 server' '$TEST_TMP/bad_preface.err'"
# a gRPC call aimed at an HTTP/1.1 server: exit 4 before the run, saying so
start_hostile headers_16k
"$RINGLOAD" -q --grpc api.performance.UserService/GetUser --data '{"user_id": 1}' -n 10 \
	"http://127.0.0.1:$HOSTILE_PORT/" > /dev/null 2> "$TEST_TMP/grpc_on_h1.err"
rc=$?
kill "$HOSTILE_PID" 2>/dev/null
check "grpc_on_http1_port_preflight_exit_4 (rc $rc)" bash -c "test $rc = 4 && grep -q 'not an HTTP/2 server: it answered the HTTP/2 preface with HTTP/1.x' '$TEST_TMP/grpc_on_h1.err'"
hostile h2_goaway_mid_run 3 "$succeeds and t['connections']['goaways'] > 0 and t['connections']['reconnects'] > 0" "${H2[@]}"
hostile h2_rst_some_streams 3 "t['successful'] > 0 and t['errors'].get('stream_reset:INTERNAL_ERROR', 0) == t['failed'] > 0" "${H2[@]}"
hostile h2_continuation_flood 3 "$(failed_as protocol)" "${H2[@]}"
hostile h2_window_zero 3 "$(failed_as timeout)" "${H2[@]}" -X POST -b 'a body the window never lets out'
hostile h2_settings_flood 3 "t['requests'] > 0" "${H2[@]}"
# the HTTP/2 error paths: refusals are retried (--h2-retries, default 1) from their first
# start and then fail named; a GOAWAY loop ends; nghttp2's own resets are named as ours;
# each connection error has its own message, and our GOAWAY reaches the server first
refused() { # CATEGORY N: all N requests failed under CATEGORY after one retry each
	echo "t['requests'] == $2 and t['errors'].get('$1', 0) == $2 and t['connections']['retried_requests'] == $2"
}
hostile h2_goaway_error_close 2 "$(refused goaway:INTERNAL_ERROR 6)" --h2 -c 2 -m 3 -t 1 -n 6 --timeout 1s
hostile h2_goaway_noerror_each 3 "$(refused goaway:NO_ERROR 40)" --h2 -c 4 -m 10 -t 1 -n 40 --timeout 1s
hostile h2_refuse_every_stream 3 "$(refused stream_refused 30)" --h2 -c 3 -m 10 -t 1 -n 30 --timeout 1s
check "h2_goaway_loop_opens_few_connections" test "$(jget "$TEST_TMP/h2_goaway_error_close.json" \
	'd["total"]["connections"]["opened"] <= 6')" = True
malformed() { # WORDS: every failure is h2_malformed, its --failures message naming WORDS
	echo "$(with_message h2_malformed "$1") and not any(k.startswith('stream_reset') for k in t['errors'])"
}
hostile h2_bad_status 3 "$(malformed ':status')" "${H2[@]}"
hostile h2_missing_status 3 "$(malformed ':status')" "${H2[@]}"
hostile h2_data_beyond_content_length 3 "$(malformed 'content-length')" "${H2[@]}"
# ringload checks these itself (nghttp2's HTTP messaging checks are off: h2_response.c)
hostile h2_data_short_of_content_length 3 "$(malformed 'short of content-length')" "${H2[@]}"
hostile h2_uppercase_field_name 3 "$(malformed 'invalid field name')" "${H2[@]}"
hostile h2_newline_in_value 3 "$(malformed 'invalid field value')" "${H2[@]}"
hostile h2_connection_field 3 "$(malformed 'connection-specific')" "${H2[@]}"
hostile h2_pseudo_after_regular 3 "$(malformed 'after a regular field')" "${H2[@]}"
hostile h2_request_pseudo_field 3 "$(malformed 'may not carry')" "${H2[@]}"
hostile h2_interim_and_trailers 3 "$succeeds and t['payload_bytes'] == 2 * t['successful']" "${H2[@]}"
conn_error() { # WORDS: every failure is protocol, with a message naming the connection error
	echo "$(with_message protocol "$1")"
}
# nghttp2 makes a stream's window overrun a stream error (RFC 9113 6.9 allows either)
hostile h2_flow_control_overrun 3 "$(malformed FLOW_CONTROL_ERROR)" "${H2[@]}" -w 13
hostile h2_data_on_stream_0 3 "$(conn_error 'stream_id')" "${H2[@]}"
hostile h2_bad_settings 3 "$(conn_error 'SETTINGS')" "${H2[@]}"
hostile h2_hpack_error 3 "$(conn_error COMPRESSION_ERROR)" "${H2[@]}"
for mode in h2_data_on_stream_0 h2_bad_settings h2_hpack_error; do
	check "${mode}_server_saw_our_goaway_before_close" python3 - "$TEST_TMP/hostile.$mode.out" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
goaway = [i for i, l in enumerate(lines) if l.startswith("client GOAWAY") and "error_code=0 " not in l]
closed = [i for i, l in enumerate(lines) if l == "client closed"]
assert goaway and closed and goaway[0] < closed[0], lines
PY
done
hostile h2_ping_flood 3 "t['requests'] > 0" "${H2[@]}"

# gRPC (unary calls over the same hand-built HTTP/2)
GRPC=(-t 1 -c 2 -m 4 -d 1s --timeout 500ms --grpc api.performance.UserService/GetUser --data '{"user_id": 42}')
hostile grpc_length_prefix_too_long 3 "$(failed_as protocol)" "${GRPC[@]}"
hostile grpc_compressed_without_encoding 3 "$(failed_as protocol)" "${GRPC[@]}"
hostile grpc_missing_trailers 3 "$(with_message protocol grpc-status)" "${GRPC[@]}"
hostile grpc_nonnumeric_status 3 "$(with_message protocol grpc-status)" "${GRPC[@]}"
hostile grpc_data_after_trailers 3 "t['requests'] > 0" "${GRPC[@]}"
hostile grpc_server_reset 3 "$(failed_as stream_reset:CANCEL)" "${GRPC[@]}"
hostile grpc_http_503 3 "t['errors'].get('http_503', 0) == t['failed'] > 0 and t['status_codes'].get('503') == t['requests']" "${GRPC[@]}"

# the same servers read through multishot recvmsg with the kernel's receive stamps: the
# closes, resets, trickles and bodies until close count the same, every response stamped
if python3 -c 'import os,sys; sys.exit(0 if tuple(map(int, os.uname().release.split(".")[:2])) >= (6, 0) else 1)'; then
	stamped="t['client_delay_ms']['count'] == t['successful']"
	SUFFIX=_kernel_stamps
	hostile short_body_then_close 3 "$(failed_as eof)" --kernel-timestamps "${H1[@]}"
	hostile rst_mid_body 3 "$(failed_as reset)" --kernel-timestamps "${H1[@]}"
	hostile one_byte_at_a_time 3 "$succeeds and $stamped" --kernel-timestamps "${H1[@]}"
	hostile http10_body_until_close 3 "$succeeds and $stamped" --kernel-timestamps "${H1[@]}"
	hostile h2_rst_some_streams 3 "t['errors'].get('stream_reset:INTERNAL_ERROR', 0) == t['failed'] > 0 and $stamped" \
		--kernel-timestamps "${H2[@]}"
	SUFFIX=
fi
