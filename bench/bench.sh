#!/usr/bin/env bash
# ringload beside wrk on the same nginx, in the same run: one client thread pinned to
# CPU 0, nginx (one worker) pinned to the last CPU, all on 127.0.0.1. Prints requests/s
# and the client's own CPU per request (user and system, from getrusage via
# /usr/bin/time). Speed is shown here, never asserted in a test.
#   bench/bench.sh [BINARY]     env: DURATION (default 5s), CONNS (default "10 50 200")
set -eu
cd "$(dirname "$0")/.."
RINGLOAD=${1:-build/ringload}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-"10 50 200"}
NCPU=$(nproc)
CLIENT_CPU=0
SERVER_CPU=$((NCPU - 1))
TMP=$(mktemp -d /tmp/ringload-bench.XXXXXX)
trap 'kill $(cat "$TMP/nginx.pid" 2>/dev/null) 2>/dev/null; rm -rf "$TMP"' EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$TMP/nginx.conf" <<CONF
worker_processes 1;
worker_cpu_affinity $(python3 -c "print(format(1 << $SERVER_CPU, 'b'))");
daemon on;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $TMP;
  server { listen 127.0.0.1:$PORT; location / { return 200 "hello from nginx\n"; } }
}
CONF
nginx -c "$TMP/nginx.conf" -p "$TMP" -e "$TMP/error.log"
sleep 0.3

# measure NAME CMD...: runs CMD pinned to CLIENT_CPU; prints "user_s sys_s" of it
measure() {
	/usr/bin/time -f "%U %S" -o "$TMP/time" taskset -c "$CLIENT_CPU" "$@" > "$TMP/out" 2>&1
	cat "$TMP/time"
}


REPS=${REPS:-3}
echo "HTTP/1.1, GET 17-byte body, nginx 1 worker on CPU $SERVER_CPU, client 1 thread on CPU $CLIENT_CPU"
echo "median of $REPS alternating runs of $DURATION each; CPU is the client's own (getrusage via /usr/bin/time)"
printf "%-10s %6s %12s %12s %12s %12s\n" tool conns "req/s" "user us/req" "sys us/req" "cpu us/req"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for c in $CONNS; do
	: > "$TMP/wrk.rows"
	: > "$TMP/rl.rows"
	for _ in $(seq "$REPS"); do
		read -r wu ws < <(measure wrk -t1 -c"$c" -d"$DURATION" "http://127.0.0.1:$PORT/")
		wn=$(awk '/requests in/ { print $1 }' "$TMP/out")
		wd=$(awk '/requests in/ { sub(/s,$/, "", $4); print $4 }' "$TMP/out")
		echo "$wn $wd $wu $ws" >> "$TMP/wrk.rows"
		read -r ru rs < <(measure "$RINGLOAD" -t1 -c"$c" -d"$DURATION" -o json --no-preflight "http://127.0.0.1:$PORT/")
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total"]["requests"], d["duration_s"], *sys.argv[2:])' \
			"$TMP/out" "$ru" "$rs" >> "$TMP/rl.rows"
	done
	for tool in wrk rl; do
		# per run: req/s, user us/req, sys us/req, cpu us/req; then the median of each
		awk '{ printf "%f %f %f %f\n", $1 / $2, $3 * 1e6 / $1, $4 * 1e6 / $1, ($3 + $4) * 1e6 / $1 }' \
			"$TMP/$tool.rows" > "$TMP/$tool.per"
		for col in 1 2 3 4; do awk -v c=$col '{ print $c }' "$TMP/$tool.per" | median; done | paste -sd' ' > "$TMP/$tool.med"
	done
	read -r wr wuq wsq wcq < "$TMP/wrk.med"
	read -r rr ruq rsq rcq < "$TMP/rl.med"
	printf "%-10s %6d %12.0f %12.2f %12.2f %12.2f\n" wrk "$c" "$wr" "$wuq" "$wsq" "$wcq"
	printf "%-10s %6d %12.0f %12.2f %12.2f %12.2f\n" ringload "$c" "$rr" "$ruq" "$rsq" "$rcq"
	awk -v a="$rcq" -v b="$wcq" 'BEGIN { printf "%-10s %6s   ringload/wrk CPU per request: %.2f\n", "", "", a / b }'
done

# The built-in server beside nginx: one worker/thread each on the server CPU, the same
# client (wrk, one thread on the client CPU), the same small response.
SERVE_LOG="$TMP/serve.log"
taskset -c "$SERVER_CPU" "$RINGLOAD" serve --port 0 --threads 1 > "$SERVE_LOG" 2>&1 &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null; kill $(cat "$TMP/nginx.pid" 2>/dev/null) 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do
	SPORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$SERVE_LOG" | cut -d: -f3 || true)
	[ -n "$SPORT" ] && break
	sleep 0.05
done
echo
echo "Servers on one core (CPU $SERVER_CPU), client wrk -t1 -c50 on CPU $CLIENT_CPU, median of $REPS x $DURATION"
printf "%-16s %12s\n" server "req/s"
for server in nginx ringload-serve; do
	port=$PORT
	[ "$server" = ringload-serve ] && port=$SPORT
	for _ in $(seq "$REPS"); do
		taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"$DURATION" "http://127.0.0.1:$port/" |
			awk '/Requests\/sec/ { print $2 }'
	done | median | awk -v s="$server" '{ printf "%-16s %12.0f\n", s, $1 }'
done
