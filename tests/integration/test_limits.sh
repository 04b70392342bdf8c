#!/usr/bin/env bash
# Resource limits: the open-file limit against -c, ephemeral ports running out (in a
# network namespace of the test's own), and ten thousand connections on one thread.
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"
cd "$TEST_TMP" || exit 1

# -c over the hard limit: exit 2 before any connection, saying how many are possible
(ulimit -n 128; "$RINGLOAD" -q -c 1000 -n 10 "$BASE/" > /dev/null 2> nofile.err; echo $? > nofile.rc)
check "nofile_over_hard_limit_exit_2" test "$(cat nofile.rc)" = 2
check "nofile_says_how_many_are_possible" grep -q 'at most 64 connections are possible' nofile.err
check "nofile_error_is_one_line" test "$(wc -l < nofile.err)" = 1
# -c over the soft limit only: raised to the hard one, and the run uses every connection
(ulimit -Sn 256; "$RINGLOAD" -q -t 1 -c 1000 -n 3000 --json soft.json "$BASE/")
check "nofile_soft_limit_raised" test "$(jget soft.json 'd["total"]["connections"]["opened"], d["total"]["successful"]')" = "(1000, 3000)"

# ten thousand connections on one thread, each with a request in flight at once (the
# server holds each request longer than all the connects take: about 1.2 s here in a
# plain build, 3.7 s under ASan, where client and server both run instrumented): the
# server's high-water mark of requests in flight proves every connection was used
hold=4s
san_build && hold=12s
"$RINGLOAD" -q -t 1 -c 10000 -n 10000 --json 10k.json "$BASE/?ttfb=$hold"
check "ten_thousand_connections_exit_0" test $? = 0
check "ten_thousand_connections_opened" test "$(jget 10k.json 'd["total"]["connections"]["opened"], d["total"]["successful"], d["total"]["failed"]')" = "(10000, 10000, 0)"
check "ten_thousand_connections_all_in_flight_at_once" bash -c "curl -s '$BASE/stats' | grep -q '\"max_in_flight\":10000'"

# ephemeral ports exhausted: ten local ports in a network namespace of our own
if ! unshare -n true 2> /dev/null; then
	ok "addrnotavail # SKIP no permission to create a network namespace here"
	exit 0
fi
cat > ns.sh <<'NS'
ip link set lo up
echo "40000 40009" > /proc/sys/net/ipv4/ip_local_port_range
"$RINGLOAD" serve --port 0 > ns_serve.out 2>&1 &
. "$SERVE_PORT_SH"
PORT=$(serve_port ns_serve.out http)
timeout -k 2 20 "$RINGLOAD" -q -t 1 -c 50 -n 3000 --json ns.json "http://127.0.0.1:$PORT/" 2> ns.err
echo $? > ns.rc
kill %1
wait
NS
started=$(date +%s)
RINGLOAD="$RINGLOAD" timeout -k 2 30 unshare -n bash ns.sh
check "addrnotavail_run_exit_0_in_time" bash -c "test \"\$(cat ns.rc)\" = 0 && test $(($(date +%s) - started)) -lt 15"
check "addrnotavail_counted" python3 -c "
import json; t = json.load(open('ns.json'))['total']
assert t['errors'].get('connect_addrnotavail', 0) > 0 and t['successful'] > 0, t
assert t['requests'] == 3000 == t['successful'] + t['failed'], t"
check "addrnotavail_said_once_on_stderr" test "$(grep -c 'out of local ports' ns.err)" = 1
check "addrnotavail_accounting_holds" accounting_holds ns.json
