#!/usr/bin/env bash
# ringload beside wrk (HTTP/1.1) and h2load (h2c, gRPC) on the same servers, in the same
# run: one client thread pinned to CPU 0, the server (one worker) pinned to the last
# CPU, all on 127.0.0.1. Prints requests/s and the client's own CPU per request (user
# and system, getrusage through /usr/bin/time), medians of alternating runs. Speed is
# shown here, never asserted in a test.
#   bench/bench.sh [BINARY]    env: DURATION (3s), REPS (3), CONNS ("10 50 200"),
#                              ROWS (which rows to run: "http1 h2c h2c/rs grpc https h2tls
#                              grpctls newconn tlsmem open instr connmem servers")
set -eu
cd "$(dirname "$0")/.."
RINGLOAD=${1:-build/ringload}
DURATION=${DURATION:-3s}
REPS=${REPS:-3}
CONNS=${CONNS:-"10 50 200"}
ALL_ROWS="http1 h2c h2c/rs grpc https h2tls grpctls newconn/full newconn/resumed tlsmem open instr connmem servers"
ROWS=${ROWS:-$ALL_ROWS}
ROWS=" $ROWS "
ROWS=${ROWS/ newconn / newconn\/full newconn\/resumed }
SECS=${DURATION%s}
for row in $ROWS; do
	case " $ALL_ROWS newconn " in
	*" $row "*) ;;
	*) echo "bench.sh: unknown row '$row' in ROWS (rows: $ALL_ROWS)" >&2; exit 2 ;;
	esac
done
NCPU=$(nproc)
CLIENT_CPU=0
SERVER_CPU=$((NCPU - 1))
TMP=$(mktemp -d /tmp/ringload-bench.XXXXXX)
SERVE_PID=""
trap 'kill $SERVE_PID $(cat "$TMP"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$TMP"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nginx() { # NAME PORT LISTEN_SUFFIX
	cat > "$TMP/$1.conf" <<CONF
worker_processes 1;
worker_cpu_affinity $(python3 -c "print(format(1 << $SERVER_CPU, 'b'))");
daemon on;
pid $TMP/$1.pid;
error_log $TMP/$1.err;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $TMP;
  server { listen 127.0.0.1:$2$3; location / { return 200 "hello from nginx\n"; } }
}
CONF
	nginx -c "$TMP/$1.conf" -p "$TMP" -e "$TMP/$1.err"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run_client KIND ARGS...: pinned to CLIENT_CPU; prints "requests seconds user sys"
run_client() {
	local kind=$1
	shift
	/usr/bin/time -f "%U %S" -o "$TMP/time" taskset -c "$CLIENT_CPU" "$@" > "$TMP/out" 2>&1
	local n d
	case $kind in
	wrk)
		n=$(awk '/requests in/ { print $1 }' "$TMP/out")
		d=$(awk '/requests in/ { sub(/s,$/, "", $4); print $4 }' "$TMP/out") ;;
	h2load)
		n=$(awk '/^requests:/ { print $8 }' "$TMP/out")
		d=$(awk '/^finished in/ { v = $3; sub(/,$/, "", v); if (v ~ /ms$/) { sub(/ms$/, "", v); v /= 1000 } else sub(/s$/, "", v); print v }' "$TMP/out") ;;
	ringload)
		read -r n d < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total"]["successful"], d["duration_s"])' "$TMP/out") ;;
	floor)
		n=$(cat "$TMP/out")
		d=1 ;;
	esac
	echo "$n $d $(cat "$TMP/time")"
}

want_row() { [[ " $ROWS " == *" $1 "* ]]; }

# compare LABEL CONNS OTHER_KIND "OTHER ARGS" "RINGLOAD ARGS"
compare() {
	local label=$1 c=$2 other=$3 oargs=$4 rargs=$5
	want_row "$label" || return 0
	: > "$TMP/a.rows"
	: > "$TMP/b.rows"
	for _ in $(seq "$REPS"); do
		# shellcheck disable=SC2086
		run_client "$other" $other $oargs >> "$TMP/a.rows"
		# shellcheck disable=SC2086
		run_client ringload "$RINGLOAD" $rargs -o json --no-preflight >> "$TMP/b.rows"
	done
	for f in a b; do
		awk '{ printf "%f %f %f %f\n", $1 / $2, $3 * 1e6 / $1, $4 * 1e6 / $1, ($3 + $4) * 1e6 / $1 }' "$TMP/$f.rows" > "$TMP/$f.per"
		for col in 1 2 3 4; do awk -v c=$col '{ print $c }' "$TMP/$f.per" | median; done | paste -sd' ' > "$TMP/$f.med"
	done
	read -r ar au as ac < "$TMP/a.med"
	read -r br bu bs bc < "$TMP/b.med"
	printf "%-8s %-9s %6d %12.0f %12.2f %12.2f %12.2f\n" "$label" "$other" "$c" "$ar" "$au" "$as" "$ac"
	printf "%-8s %-9s %6d %12.0f %12.2f %12.2f %12.2f   ringload/%s CPU per request: %.2f\n" \
		"$label" ringload "$c" "$br" "$bu" "$bs" "$bc" "$other" "$(awk -v a="$bc" -v b="$ac" 'BEGIN { print a / b }')"
}

# a certificate for nginx's TLS ports (ECDSA P-256; every client here skips the check,
# as wrk and h2load always do)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/srv.key" -out "$TMP/srv.pem" \
	-days 2 -subj "/CN=localhost" 2> /dev/null
TLS_CONF=" ssl; ssl_certificate $TMP/srv.pem; ssl_certificate_key $TMP/srv.key; ssl_session_tickets on"
H1_PORT=$(free_port)
H2_PORT=$(free_port)
H1S_PORT=$(free_port)
H2S_PORT=$(free_port)
H1NT_PORT=$(free_port)
start_nginx h1 "$H1_PORT" ""
start_nginx h2 "$H2_PORT" " http2"
start_nginx h1s "$H1S_PORT" "$TLS_CONF"
start_nginx h2s "$H2S_PORT" " http2$TLS_CONF"
# without tickets (and nginx's default of no session cache) no session resumes: wrk's
# SSL_clear keeps the session and offers it, and here it is refused, so every one of
# wrk's handshakes is full, as ringload's are with --tls-resume 0
start_nginx h1nt "$H1NT_PORT" " ssl; ssl_certificate $TMP/srv.pem; ssl_certificate_key $TMP/srv.key; ssl_session_tickets off"
. tools/serve-port.sh
taskset -c "$SERVER_CPU" "$RINGLOAD" serve --port 0 > "$TMP/serve.log" 2>&1 &
SERVE_PID=$!
taskset -c "$SERVER_CPU" "$RINGLOAD" serve --tls --port 0 > "$TMP/serve-tls.log" 2>&1 &
SERVE_PID="$SERVE_PID $!"
SPORT=$(serve_port "$TMP/serve.log" http)
STLS_PORT=$(serve_port "$TMP/serve-tls.log" https)
printf '\x00\x00\x00\x00\x02\x08\x2a' > "$TMP/getuser.bin" # GetUserRequest{user_id: 42}, framed

echo "client: 1 thread on CPU $CLIENT_CPU; server: 1 worker on CPU $SERVER_CPU; median of $REPS alternating runs of $DURATION"
echo "http1, h2c: GET against nginx (17-byte body); h2c/rs: GET / against ringload serve (26 bytes);"
echo "grpc: GetUser against ringload serve; https, h2tls: the same as http1, h2c over TLS (nginx);"
echo "grpctls: grpc against serve --tls; newconn: a new connection and handshake per request"
echo "(Connection: close) against nginx over TLS; full: every handshake full (ringload --tls-resume 0;"
echo "wrk against an nginx without tickets, which refuses its resumption; h2load resumes none);"
echo "resumed: tickets (wrk's SSL_clear keeps the session)"
# what nginx's default protocols and ringload's default cipher order agree on here
TLS_SEEN=$("$RINGLOAD" -k -q -o json -n 1 "https://127.0.0.1:$H1S_PORT/" |
	python3 -c 'import json, sys; t = json.load(sys.stdin)["targets"][0]["tls"]; print(t["version"], t["cipher"])')
echo "TLS against nginx (its default protocols): $TLS_SEEN"
printf "%-8s %-9s %6s %12s %12s %12s %12s\n" proto client conns "req/s" "user us/req" "sys us/req" "cpu us/req"
for c in $CONNS; do
	compare http1 "$c" wrk "-t1 -c$c -d$DURATION http://127.0.0.1:$H1_PORT/" \
		"-t1 -c$c -d$DURATION http://127.0.0.1:$H1_PORT/"
done
for c in 10 50; do
	compare h2c "$c" h2load "-t1 -c$c -m10 -D$SECS --warm-up-time=0 http://127.0.0.1:$H2_PORT/" \
		"--h2 -t1 -c$c -m10 -d$DURATION http://127.0.0.1:$H2_PORT/"
	compare h2c/rs "$c" h2load "-t1 -c$c -m10 -D$SECS --warm-up-time=0 http://127.0.0.1:$SPORT/" \
		"--h2 -t1 -c$c -m10 -d$DURATION http://127.0.0.1:$SPORT/"
	compare grpc "$c" h2load "-t1 -c$c -m10 -D$SECS --warm-up-time=0 -d $TMP/getuser.bin -H content-type:application/grpc -H te:trailers http://127.0.0.1:$SPORT/api.performance.UserService/GetUser" \
		"--grpc api.performance.UserService/GetUser --data {\"user_id\":42} -t1 -c$c -m10 -d$DURATION http://127.0.0.1:$SPORT/"
done
for c in 10 50; do
	compare https "$c" wrk "-t1 -c$c -d$DURATION https://127.0.0.1:$H1S_PORT/" \
		"-k -t1 -c$c -d$DURATION https://127.0.0.1:$H1S_PORT/"
	compare h2tls "$c" h2load "-t1 -c$c -m10 -D$SECS --warm-up-time=0 https://127.0.0.1:$H2S_PORT/" \
		"--h2 -k -t1 -c$c -m10 -d$DURATION https://127.0.0.1:$H2S_PORT/"
	compare grpctls "$c" h2load "-t1 -c$c -m10 -D$SECS --warm-up-time=0 -d $TMP/getuser.bin -H content-type:application/grpc -H te:trailers https://127.0.0.1:$STLS_PORT/api.performance.UserService/GetUser" \
		"--grpc api.performance.UserService/GetUser --data {\"user_id\":42} -k -t1 -c$c -m10 -d$DURATION https://127.0.0.1:$STLS_PORT/"
done
# (wrk's -H needs "Connection: close" with its space, which these word-split argument
# strings cannot carry: a one-line script sets the header instead)
printf 'wrk.headers["Connection"] = "close"\n' > "$TMP/close.lua"
compare newconn/full 10 wrk "-t1 -c10 -d$DURATION -s $TMP/close.lua https://127.0.0.1:$H1NT_PORT/" \
	"-k --tls-resume 0 -t1 -c10 -d$DURATION -H Connection:close https://127.0.0.1:$H1NT_PORT/"
# h2load resumes no session: -c N -n N gives each of N clients one request on its own
# connection, every handshake full (all N at once, where ringload keeps 10 going)
compare newconn/full 2000 h2load "--h1 -t1 -c2000 -n2000 https://127.0.0.1:$H1S_PORT/" \
	"-k --tls-resume 0 -t1 -c10 -n2000 -H Connection:close https://127.0.0.1:$H1S_PORT/"
compare newconn/resumed 10 wrk "-t1 -c10 -d$DURATION -s $TMP/close.lua https://127.0.0.1:$H1S_PORT/" \
	"-k -t1 -c10 -d$DURATION -H Connection:close https://127.0.0.1:$H1S_PORT/"

# memory per open TLS connection: -c 10000 on one thread against serve --tls, beside -c 100;
# resident memory sampled once every connection is open and busy (steady), and the peak
# (every handshake at once, before what they freed went back)
tls_rss() { # CONNS: "steady_kb peak_kb requests opened"
	"$RINGLOAD" -k -q -o json -t1 -c"$1" -d16s --connect-timeout 15s --no-preflight \
		"https://127.0.0.1:$STLS_PORT/" > "$TMP/mem.json" &
	local pid=$! steady
	sleep 13
	steady=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
	wait "$pid"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["total"]
print(sys.argv[2], d["client"]["max_rss_kb"], t["requests"], t["connections"]["opened"])' "$TMP/mem.json" "$steady"
}
if want_row tlsmem; then
	read -r s1 p1 _ _ < <(tls_rss 100)
	read -r s2 p2 n2 o2 < <(tls_rss 10000)
	echo
	echo "TLS memory: -c 10000 against serve --tls, one thread ($o2 connections open, $n2 requests in 16 s):"
	awk -v s1="$s1" -v p1="$p1" -v s2="$s2" -v p2="$p2" 'BEGIN { printf "  %.1f KiB per open TLS connection (steady), %.1f KiB at the peak (every handshake at once)\n", (s2 - s1) / 9900, (p2 - p1) / 9900 }'
fi

# the open loop's own cost: -R at three rates against serve, beside the closed loop at
# full speed; CPU per request and io_uring_enter (wake-ups) per request
open_row() { # LABEL RINGLOAD-ARGS...
	local label=$1
	shift
	: > "$TMP/o.rows"
	for _ in $(seq "$REPS"); do
		/usr/bin/time -f "%U %S" -o "$TMP/time" taskset -c "$CLIENT_CPU" "$RINGLOAD" "$@" -t1 -c50 -d"$DURATION" \
			-o json --no-preflight "http://127.0.0.1:$SPORT/" > "$TMP/out" 2>&1
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); u,s=open(sys.argv[2]).read().split()
n=d["total"]["requests"]; print(n/d["duration_s"], (float(u)+float(s))*1e6/n, d["client"]["io_uring_enters_per_request"])' \
			"$TMP/out" "$TMP/time" >> "$TMP/o.rows"
	done
	for col in 1 2 3; do awk -v c=$col '{ print $c }' "$TMP/o.rows" | median; done | paste -sd' ' |
		awk -v l="$label" '{ printf "%-22s %12.0f %12.2f %12.3f\n", l, $1, $2, $3 }'
}
if want_row open; then
	echo
	echo "Open loop against ringload serve (-c50, one thread on CPU $CLIENT_CPU), median of $REPS x $DURATION"
	printf "%-22s %12s %12s %12s\n" load "req/s" "cpu us/req" "enters/req"
	for r in 2000 20000 100000; do
		open_row "open -R $r" -R "$r"
	done
	# the same without kernel stamps: the loop wakes for each response too (eager)
	for r in 2000 100000; do
		open_row "open -R $r eager" -R "$r" --no-kernel-timestamps
	done
	open_row "closed loop"
	# the floor at -R 2000 (bench/open_floor.c): the simplest client, blocking syscalls,
	# two wake-ups a request (due, then the reply) or one (the reply read at the next),
	# and a timed wake-up alone (no I/O)
	OPEN_FLOOR=$(dirname "$RINGLOAD")/open_floor
	for mode in wait lazy sleep; do
		: > "$TMP/o.rows"
		for _ in $(seq "$REPS"); do
			taskset -c "$CLIENT_CPU" "$OPEN_FLOOR" "$SPORT" 2000 $((2000 * SECS)) $mode >> "$TMP/o.rows"
		done
		awk '{ print $2 }' "$TMP/o.rows" | median |
			awk -v l="floor -R 2000 $mode" -v w="$(case $mode in wait) echo 2 ;; *) echo 1 ;; esac)" \
				'{ printf "%-22s %12d %12.2f %12s\n", l, 2000, $1, w " wakes" }'
	done
fi

# Instructions per request from callgrind (user space, every thread): exact, so one run
# each. Each client runs twice, with fewer and more requests; the difference of the
# counts over the difference of the requests leaves start-up and exit out.
callgrind_run() { # KIND CMD...: "instructions requests"
	local kind=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$@" > "$TMP/out" 2> "$TMP/cg.err"
	local ir n
	ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$TMP/cg.out")
	case $kind in
	wrk) n=$(awk '/requests in/ { print $1 }' "$TMP/out") ;;
	h2load) n=$(awk '/^requests:/ { print $8 }' "$TMP/out") ;;
	ringload | +kstamps | -kstamps) n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["successful"])' "$TMP/out") ;;
	floor) n=$(cat "$TMP/out") ;;
	esac
	echo "$ir $n"
}
instr_row() { # LABEL KIND "CMD for the short run" "CMD for the long run"
	local label=$1 kind=$2 i1 n1 i2 n2
	# shellcheck disable=SC2086
	read -r i1 n1 < <(callgrind_run "$kind" $3)
	# shellcheck disable=SC2086
	read -r i2 n2 < <(callgrind_run "$kind" $4)
	awk -v l="$label" -v k="$kind" -v i1="$i1" -v n1="$n1" -v i2="$i2" -v n2="$n2" \
		'BEGIN { printf "%-8s %-9s %12d %14.0f\n", l, k, n2 - n1, (i2 - i1) / (n2 - n1) }'
}
if want_row instr; then
	RESP=$(python3 -c 'import socket,time,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); time.sleep(0.3); print(len(s.recv(65536)))' "$H1_PORT")
	FLOOR=$(dirname "$RINGLOAD")/floor
	echo
	echo "Instructions per request (callgrind, user space, every thread; the difference between a"
	echo "short and a long run). http1: nginx, -c100, one thread (floor: sends, counts bytes, parses"
	echo "nothing); h2c: nginx, -c10 -m10; grpc: ringload serve, -c10 -m10. Kernel stamps: off by"
	echo "default for HTTP/1.1 (+kstamps: --kernel-timestamps, over 5% more), on for h2c and gRPC"
	echo "where every thread reads in batches, as here (-kstamps: --no-kernel-timestamps, each"
	echo "response waking the loop; from kernel 6.12)"
	printf "%-8s %-9s %12s %14s\n" proto client requests "instr/req"
	instr_row http1 ringload "$RINGLOAD -t1 -c100 -n 20000 -o json --no-preflight http://127.0.0.1:$H1_PORT/" \
		"$RINGLOAD -t1 -c100 -n 100000 -o json --no-preflight http://127.0.0.1:$H1_PORT/"
	instr_row http1 +kstamps "$RINGLOAD --kernel-timestamps -t1 -c100 -n 20000 -o json --no-preflight http://127.0.0.1:$H1_PORT/" \
		"$RINGLOAD --kernel-timestamps -t1 -c100 -n 100000 -o json --no-preflight http://127.0.0.1:$H1_PORT/"
	instr_row http1 wrk "wrk -t1 -c100 -d1s http://127.0.0.1:$H1_PORT/" "wrk -t1 -c100 -d4s http://127.0.0.1:$H1_PORT/"
	instr_row http1 h2load "h2load --h1 -t1 -c100 -n 20000 http://127.0.0.1:$H1_PORT/" \
		"h2load --h1 -t1 -c100 -n 100000 http://127.0.0.1:$H1_PORT/"
	instr_row http1 floor "$FLOOR $H1_PORT 100 20000 $RESP" "$FLOOR $H1_PORT 100 100000 $RESP"
	instr_row h2c ringload "$RINGLOAD --h2 -t1 -c10 -m10 -n 20000 -o json --no-preflight http://127.0.0.1:$H2_PORT/" \
		"$RINGLOAD --h2 -t1 -c10 -m10 -n 100000 -o json --no-preflight http://127.0.0.1:$H2_PORT/"
	instr_row h2c -kstamps "$RINGLOAD --no-kernel-timestamps --h2 -t1 -c10 -m10 -n 20000 -o json --no-preflight http://127.0.0.1:$H2_PORT/" \
		"$RINGLOAD --no-kernel-timestamps --h2 -t1 -c10 -m10 -n 100000 -o json --no-preflight http://127.0.0.1:$H2_PORT/"
	instr_row h2c h2load "h2load -t1 -c10 -m10 -n 20000 http://127.0.0.1:$H2_PORT/" \
		"h2load -t1 -c10 -m10 -n 100000 http://127.0.0.1:$H2_PORT/"
	instr_row grpc ringload "$RINGLOAD --grpc api.performance.UserService/GetUser --data {\"user_id\":42} -t1 -c10 -m10 -n 20000 -o json --no-preflight http://127.0.0.1:$SPORT/" \
		"$RINGLOAD --grpc api.performance.UserService/GetUser --data {\"user_id\":42} -t1 -c10 -m10 -n 100000 -o json --no-preflight http://127.0.0.1:$SPORT/"
	instr_row grpc -kstamps "$RINGLOAD --no-kernel-timestamps --grpc api.performance.UserService/GetUser --data {\"user_id\":42} -t1 -c10 -m10 -n 20000 -o json --no-preflight http://127.0.0.1:$SPORT/" \
		"$RINGLOAD --no-kernel-timestamps --grpc api.performance.UserService/GetUser --data {\"user_id\":42} -t1 -c10 -m10 -n 100000 -o json --no-preflight http://127.0.0.1:$SPORT/"
	instr_row grpc h2load "h2load -t1 -c10 -m10 -n 20000 -d $TMP/getuser.bin -H content-type:application/grpc -H te:trailers http://127.0.0.1:$SPORT/api.performance.UserService/GetUser" \
		"h2load -t1 -c10 -m10 -n 100000 -d $TMP/getuser.bin -H content-type:application/grpc -H te:trailers http://127.0.0.1:$SPORT/api.performance.UserService/GetUser"
fi

# memory per connection: -c 10000 HTTP/1.1 keep-alive connections on one thread against
# ringload serve, beside -c 100; resident memory sampled once every connection is open
rss_during() { # CMD...: VmRSS in kB, 4 s into the run
	"$@" > /dev/null 2>&1 &
	local pid=$!
	sleep 4
	awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"
	wait "$pid" || true
}
if want_row connmem; then
	ulimit -n 65536 2> /dev/null || true
	echo
	echo "Memory per connection: -c 10000 against ringload serve (HTTP/1.1), one thread, less -c 100"
	printf "%-9s %14s\n" client "KiB/conn"
	for client in ringload wrk h2load; do
		rss=()
		for c in 100 10000; do
			case $client in
			ringload) rss+=("$(rss_during "$RINGLOAD" -q -t1 -c"$c" -d6s --no-preflight --connect-timeout 5s "http://127.0.0.1:$SPORT/")") ;;
			wrk) rss+=("$(rss_during wrk -t1 -c"$c" -d6s "http://127.0.0.1:$SPORT/")") ;;
			h2load) rss+=("$(rss_during h2load --h1 -t1 -c"$c" -D6 --warm-up-time=0 "http://127.0.0.1:$SPORT/")") ;;
			esac
		done
		awk -v c="$client" -v a="${rss[0]}" -v b="${rss[1]}" 'BEGIN { printf "%-9s %14.2f\n", c, (b - a) / 9900 }'
	done
fi

want_row servers || exit 0
echo
echo "Servers on one core (CPU $SERVER_CPU), client wrk -t1 -c50 on CPU $CLIENT_CPU, median of $REPS x $DURATION"
printf "%-16s %12s\n" server "req/s"
for server in nginx ringload-serve; do
	port=$H1_PORT
	[ "$server" = ringload-serve ] && port=$SPORT
	for _ in $(seq "$REPS"); do
		taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"$DURATION" "http://127.0.0.1:$port/" | awk '/Requests\/sec/ { print $2 }'
	done | median | awk -v s="$server" '{ printf "%-16s %12.0f\n", s, $1 }'
done
