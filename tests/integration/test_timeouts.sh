#!/usr/bin/env bash
# Servers that never answer: request timeouts and connect timeouts are counted, the run
# ends on time, and every request is accounted for.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
python3 "$(dirname "$0")/../hostile/server.py" silent "$PORT" &
PIDS+=($!)
wait_port "$PORT" || { not_ok "silent server starts"; exit 1; }

start=$(date +%s%N)
"$RINGLOAD" -q -o json -c 2 -t 1 -n 6 --timeout 200ms "http://127.0.0.1:$PORT/" > "$TEST_TMP/t.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "request_timeouts_counted" test "$(jget "$TEST_TMP/t.json" \
	'(d["total"]["requests"], d["total"]["errors"].get("timeout"), d["total"]["timeouts"])')" = "(6, 6, 6)"
# 6 requests over 2 connections, 3 rounds of 200 ms each
check "request_timeouts_on_time (${took}ms)" test "$took" -lt 2500
check "timeout_accounting_holds" accounting_holds "$TEST_TMP/t.json"

PORT2=$(free_port)
python3 "$(dirname "$0")/../hostile/server.py" backlog "$PORT2" > "$TEST_TMP/backlog.out" &
PIDS+=($!)
for _ in $(seq 100); do # until its accept queue is full (a busy machine took over 0.5 s)
	grep -q '^filled' "$TEST_TMP/backlog.out" 2> /dev/null && break
	sleep 0.05
done
start=$(date +%s%N)
"$RINGLOAD" --no-preflight -q -o json -c 4 -t 1 -n 8 --connect-timeout 300ms \
	"http://127.0.0.1:$PORT2/" > "$TEST_TMP/c.json"
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "connect_timeouts_counted" test "$(jget "$TEST_TMP/c.json" \
	'd["total"]["errors"].get("connect_timeout", 0) > 0 and d["total"]["requests"] == 8')" = True
check "connect_timeouts_bounded (${took}ms)" test "$took" -lt 5000
check "connect_timeout_accounting_holds" accounting_holds "$TEST_TMP/c.json"
