#!/usr/bin/env bash
# HTTPS: HTTP/1.1 and HTTP/2 (by ALPN) over TLS 1.2 and 1.3 against nginx, h2o and
# nghttpd with certificates made here by the openssl CLI, exact counts in each server's
# own log; the
# handshake as its own phase; sessions resumed on reconnect (nginx's $ssl_session_reused
# agrees); verification on by default, --cacert, -k, --sni; each failure named.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$TEST_TMP" || exit 1
# a CA and a server certificate for localhost and 127.0.0.1 (ECDSA P-256)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj "/CN=ringload test CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext.cnf
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf 2>/dev/null
# a client certificate from the same CA, for mTLS
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key -out cli.csr -subj "/CN=ringload client" 2>/dev/null
openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 2 2>/dev/null
check "certificates_made" test -s srv.pem -a -s cli.pem

P13=$(free_port) P12=$(free_port) P1=$(free_port) PM=$(free_port)
nginx_run '$server_port $request $status $ssl_protocol $ssl_session_reused' "  ssl_certificate $TEST_TMP/srv.pem; ssl_certificate_key $TEST_TMP/srv.key;
  ssl_session_cache shared:SSL:1m;
  server { listen 127.0.0.1:$P13 ssl http2; ssl_protocols TLSv1.3; location / { return 200 \"hello over tls 1.3\\n\"; } }
  server { listen 127.0.0.1:$P12 ssl http2; ssl_protocols TLSv1.2; location / { return 200 \"hello over tls 1.2\\n\"; } }
  server { listen 127.0.0.1:$P1 ssl; ssl_protocols TLSv1.2 TLSv1.3; location / { return 200 \"http/1.1 only\\n\"; } }
  server { listen 127.0.0.1:$PM ssl; ssl_client_certificate $TEST_TMP/ca.pem; ssl_verify_client on;
           location / { return 200 \"hello client\\n\"; } }"
wait_port "$P13" && wait_port "$P12" && wait_port "$P1" && wait_port "$PM"

# exact NAME N LOG-WORDS ARGS...: ringload counts N successes, nginx logs N lines with LOG-WORDS
exact() {
	local name=$1 n=$2 words=$3
	shift 3
	: > access.log
	"$RINGLOAD" -q -o json --no-preflight-request -n "$n" "$@" > "$name.json" 2> "$name.err"
	local logged got
	logged=$(log_lines access.log)
	got=$(jget "$name.json" '(d["total"]["requests"], d["total"]["successful"])')
	if [ "$got" = "($n, $n)" ] && [ "$logged" = "$n" ] && [ "$(grep -c "$words" access.log)" = "$n" ]; then
		ok "$name"
	else
		not_ok "$name" "ringload $got, nginx logged $logged ($(sort access.log | uniq -c | head -3 | tr '\n' ';'))" "$(head -c 300 "$name.err")"
	fi
}
exact https_h1_tls13_exact 3000 "GET / HTTP/1.1 200 TLSv1.3" --cacert ca.pem -c 4 -t 2 "https://127.0.0.1:$P13/"
exact https_h1_tls12_exact 3000 "GET / HTTP/1.1 200 TLSv1.2" --cacert ca.pem -c 4 -t 2 "https://127.0.0.1:$P12/"
exact https_h2_by_alpn_tls13_exact 5000 "GET / HTTP/2.0 200 TLSv1.3" --h2 --cacert ca.pem -c 2 -m 16 -t 2 "https://127.0.0.1:$P13/"
exact https_h2_by_alpn_tls12_exact 5000 "GET / HTTP/2.0 200 TLSv1.2" --h2 --cacert ca.pem -c 2 -m 16 -t 2 "https://127.0.0.1:$P12/"
exact https_localhost_name_verified 500 "GET / HTTP/1.1 200" --cacert ca.pem -c 2 "https://localhost:$P13/"
exact https_no_verify_k 500 "GET / HTTP/1.1 200" -k -c 2 "https://127.0.0.1:$P13/"
# "localhost" where /etc/hosts lists ::1 first (Debian's default with IPv6) and the server
# listens on 127.0.0.1 alone: the name's first address that takes a connection is used,
# as wrk and h2load do (a hosts file of our own, bound over /etc/hosts in a mount
# namespace of our own)
if unshare -m true 2> /dev/null; then
	printf '::1 localhost\n127.0.0.1 localhost\n' > hosts6
	: > access.log
	timeout -k 2 30 unshare -m bash -c 'mount --bind "$1" /etc/hosts && getent ahosts localhost | head -1 > first.txt &&
		exec "$2" -q -o json -n 200 -c 2 --cacert ca.pem "https://localhost:$3/" > localhost6.json 2> localhost6.err' \
		bash "$TEST_TMP/hosts6" "$RINGLOAD" "$P13"
	check "localhost_listed_as_ipv6_first_reaches_ipv4_server ($(cut -c1-3 first.txt), $(jget localhost6.json \
		'd["total"]["successful"]'), nginx $(log_lines access.log))" \
		test "$(cut -c1-3 first.txt)$(jget localhost6.json '(d["total"]["requests"], d["total"]["successful"])') $(log_lines access.log)" = "::1(200, 200) 201"
else
	ok "localhost_listed_as_ipv6_first_reaches_ipv4_server # SKIP no permission to create a mount namespace here"
fi
check "tls_phase_one_sample_per_connection" test "$(jget https_h1_tls13_exact.json \
	'd["total"]["tls_ms"]["count"] == d["total"]["connections"]["opened"] == 4 and d["total"]["tls_ms"]["min"] > 0 and d["total"]["handshakes_full"] == 4')" = True
# without --ciphers / --ciphersuites, AES-128-GCM is offered first, as browsers, Go and
# h2load do (OpenSSL's own order puts AES-256-GCM first); nginx follows the client's order
ciphers="$(jget https_h1_tls13_exact.json 'd["targets"][0]["tls"]["cipher"]') $(jget https_h1_tls12_exact.json 'd["targets"][0]["tls"]["cipher"]')"
check "default_ciphers_aes128_gcm_first ($ciphers)" test "$ciphers" = "TLS_AES_128_GCM_SHA256 ECDHE-ECDSA-AES128-GCM-SHA256"
# and --ciphersuites / --ciphers still choose
"$RINGLOAD" -q -o json -n 20 -c 1 --cacert ca.pem --ciphersuites TLS_AES_256_GCM_SHA384 "https://127.0.0.1:$P13/" > suites.json 2> /dev/null
"$RINGLOAD" -q -o json -n 20 -c 1 --cacert ca.pem --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 "https://127.0.0.1:$P12/" > ciphers.json 2> /dev/null
ciphers="$(jget suites.json 'd["targets"][0]["tls"]["cipher"]') $(jget ciphers.json 'd["targets"][0]["tls"]["cipher"]')"
check "ciphers_flags_choose ($ciphers)" test "$ciphers" = "TLS_AES_256_GCM_SHA384 ECDHE-ECDSA-CHACHA20-POLY1305"
check "tls_phase_not_in_ttfb" test "$(jget https_h1_tls13_exact.json 'd["total"]["ttfb_ms"]["max"] < d["total"]["tls_ms"]["max"] + d["total"]["latency_ms"]["max"]')" = True

# a new connection per request: every reconnect resumes the session it last got
: > access.log
# (one connection: with two, one may reconnect, and handshake, just as the last request
# is taken by the other, and nginx logs requests, not handshakes)
"$RINGLOAD" -q -o json -n 400 -c 1 -t 1 --cacert ca.pem -H 'Connection: close' "https://127.0.0.1:$P13/" > resume.json
log_lines access.log > /dev/null
check "resumption_counts_equal_nginx (resumed $(jget resume.json 'd["total"]["handshakes_resumed"]'), nginx $(grep -c ' r$' access.log))" \
	test "$(jget resume.json '(d["total"]["successful"], d["total"]["handshakes_full"], d["total"]["handshakes_resumed"])')" = "(400, 1, $(grep -c ' r$' access.log))"

# --no-keepalive (hey's habit): a new connection per request; --tls-resume sets the share
# of them that offer the thread's last session (one thread, one connection at a time)
resume_run() { # FRACTION
	: > access.log
	"$RINGLOAD" -q -o json -n 400 -c 1 -t 1 --cacert ca.pem --no-keepalive --tls-resume "$1" "https://127.0.0.1:$P13/" > "resume$1.json"
	log_lines access.log > /dev/null
}
resume_run 0
check "tls_resume_0_resumes_none (nginx reused $(grep -c ' r$' access.log))" test "$(jget resume0.json \
	'(d["total"]["successful"], d["total"]["handshakes_full"], d["total"]["handshakes_resumed"])'),$(grep -c ' r$' access.log)" = "(400, 400, 0),0"
resume_run 0.5
check "tls_resume_half_resumes_half (nginx reused $(grep -c ' r$' access.log))" test "$(jget resume0.5.json \
	'190 <= d["total"]["handshakes_resumed"] <= 210')$(jget resume0.5.json 'd["total"]["handshakes_resumed"]')" = "True$(grep -c ' r$' access.log)"
"$RINGLOAD" -q -o json -n 300 -c 2 -t 2 --h2 --cacert ca.pem --no-keepalive "https://127.0.0.1:$P13/" > nokeep_h2.json
check "no_keepalive_h2_one_stream_per_connection" test "$(jget nokeep_h2.json \
	'(d["total"]["successful"], d["total"]["connections"]["opened"], d["total"]["handshakes_full"] + d["total"]["handshakes_resumed"])')" = "(300, 300, 300)"

# mTLS: nginx requires a client certificate
exact mtls_with_client_certificate 500 "GET / HTTP/1.1 200" --cacert ca.pem --cert cli.pem --key cli.key -c 2 "https://127.0.0.1:$PM/"

# pre-flight does a full handshake: a bad certificate or a server without h2 is exit 4, saying why
"$RINGLOAD" -n 5 "https://127.0.0.1:$P13/" > /dev/null 2> pre_ca.err
rc=$?
check "preflight_unknown_ca_exit_4 (rc $rc)" bash -c "test $rc = 4 && grep -q 'pre-flight handshake: TLS certificate: unable to get local issuer certificate' pre_ca.err"
"$RINGLOAD" -n 5 --h2 --cacert ca.pem "https://127.0.0.1:$P1/" > /dev/null 2> pre_alpn.err
rc=$?
check "preflight_no_h2_exit_4 (rc $rc)" bash -c "test $rc = 4 && grep -q 'alert no_application_protocol from the server' pre_alpn.err"

# failures, each named: an unknown CA, a name the certificate does not hold, a server that
# offers no h2, a handshake that never finishes
fails_as() { # NAME CATEGORY WORDS ARGS...
	local name=$1 cat=$2 words=$3
	shift 3
	timeout 20 "$RINGLOAD" -q -o json --failures "$name.csv" -t 1 "$@" > "$name.json" 2> "$name.err"
	local rc=$?
	if [ "$rc" = 0 ] && [ "$(jget "$name.json" "d['total']['errors'].get('$cat', 0) == d['total']['failed'] == d['total']['requests'] > 0")" = True ] &&
		grep -q "$words" "$name.csv" && accounting_holds "$name.json"; then
		ok "$name"
	else
		not_ok "$name" "exit $rc: $(head -c 300 "$name.err") $(cat "$name.json" | head -c 300)" "$(cat "$name.csv" 2>/dev/null)"
	fi
}
# without one, nginx finishes the handshake and answers 400 ("No required SSL certificate
# was sent"): every request fails, named by that status
fails_as mtls_without_certificate_fails_named http_400 "HTTP status 400" --cacert ca.pem -n 10 "https://127.0.0.1:$PM/"
# ... and the pre-flight said why before the run: the server asked for a certificate
check "mtls_without_certificate_preflight_says_why" grep -q "pre-flight: the server asked for a client certificate and none was given" mtls_without_certificate_fails_named.err
fails_as tls_unknown_ca_is_tls_verify tls_verify "unable to get local issuer certificate" --no-preflight -n 20 "https://127.0.0.1:$P13/"
fails_as tls_wrong_name_is_tls_verify tls_verify "hostname mismatch" --no-preflight --cacert ca.pem --sni wrong.example -n 20 "https://127.0.0.1:$P13/"
fails_as tls_h2_without_h2_alpn_is_named tls_alert:no_application_protocol "alert no_application_protocol from the server" --no-preflight --h2 --cacert ca.pem -n 20 "https://127.0.0.1:$P1/"
# a TCP server that accepts and never answers: the handshake is bounded by --connect-timeout
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64); print(s.getsockname()[1], flush=True)
conns = []
end = time.time() + 30
while time.time() < end:
    c, _ = s.accept(); conns.append(c)
' > stall.port &
PIDS+=("$!")
for _ in $(seq 50); do [ -s stall.port ] && break; sleep 0.1; done
start=$(date +%s%N)
fails_as tls_stalled_handshake_is_connect_timeout connect_timeout "TLS handshake" --no-preflight -k --connect-timeout 300ms -d 1s "https://127.0.0.1:$(cat stall.port)/"
ms=$((($(date +%s%N) - start) / 1000000))
check "tls_stalled_handshake_run_ends_on_time (${ms} ms)" test "$ms" -lt 4000
# a server that ignores ALPN (openssl s_server without -alpn): --h2 cannot have h2
SP=$(free_port)
openssl s_server -accept "$SP" -cert srv.pem -key srv.key -www -quiet > /dev/null 2>&1 &
PIDS+=("$!")
wait_port "$SP"
# (s_server serves one connection at a time: -c 1)
fails_as tls_no_alpn_with_h2_is_tls_alpn tls_alpn "server chose none; --h2 needs h2" --no-preflight --h2 -k -n 10 -c 1 "https://127.0.0.1:$SP/"

# bad input: a --cacert that cannot be read is exit 2, naming it
"$RINGLOAD" -n 1 --cacert "$TEST_TMP/none.pem" "https://127.0.0.1:$P13/" > /dev/null 2> cacert.err
rc=$?
check "cacert_unreadable_exit_2 (rc $rc)" bash -c "test $rc = 2 && grep -q 'none.pem' cacert.err && test \$(wc -l < cacert.err) = 1"

# nghttpd over TLS (h2 by ALPN): every request it saw, exactly
NPORT=$(free_port)
mkdir -p docroot && echo "hello from nghttpd over tls" > docroot/index.html
nghttpd -v -d "$TEST_TMP/docroot" "$NPORT" srv.key srv.pem > nghttpd.log 2>&1 &
PIDS+=("$!")
wait_port "$NPORT"
"$RINGLOAD" -q -o json --no-preflight-request --h2 --cacert ca.pem -c 2 -m 8 -t 2 -n 4000 "https://127.0.0.1:$NPORT/index.html" > ng.json
served=$(grep -c 'recv (stream_id=[0-9]*) :path: /index.html' nghttpd.log)
check "nghttpd_tls_exact (nghttpd saw $served)" test "$served,$(jget ng.json '(d["total"]["requests"], d["total"]["successful"])')" = "4000,(4000, 4000)"

# h2o over TLS (h2 and http/1.1 by ALPN on one port): every request in its own log
HPORT=$(free_port)
cat > h2o.conf <<CONF
user: $(id -un)
error-log: $TEST_TMP/h2o.err
listen:
  host: 127.0.0.1
  port: $HPORT
  ssl:
    certificate-file: $TEST_TMP/srv.pem
    key-file: $TEST_TMP/srv.key
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      "/":
        file.dir: $TEST_TMP/docroot
    access-log:
      path: $TEST_TMP/h2o.log
      format: "%H %s %U"
CONF
h2o -c h2o.conf > h2o.out 2>&1 &
PIDS+=("$!")
wait_port "$HPORT"
h2o_exact() { # NAME N LOG-WORDS ARGS...
	local name=$1 n=$2 words=$3
	shift 3
	: > h2o.log
	"$RINGLOAD" -q -o json --no-preflight-request --cacert ca.pem -n "$n" "$@" "https://127.0.0.1:$HPORT/index.html" > "$name.json" 2> "$name.err"
	local logged got
	logged=$(log_lines h2o.log)
	got=$(jget "$name.json" '(d["total"]["requests"], d["total"]["successful"], d["targets"][0]["tls"]["alpn"])')
	if [ "$logged" = "$n" ] && [ "$(grep -c "$words" h2o.log)" = "$n" ] && [[ $got == "($n, $n, "* ]]; then
		ok "$name"
	else
		not_ok "$name" "ringload $got, h2o logged $logged ($(sort h2o.log | uniq -c | head -3 | tr '\n' ';'))" "$(head -c 300 "$name.err") $(tail -3 h2o.err)"
	fi
}
h2o_exact h2o_tls_h2_exact 4000 "HTTP/2 200 /index.html" --h2 -c 2 -m 8 -t 2
h2o_exact h2o_tls_h1_exact 2000 "HTTP/1.1 200 /index.html" -c 4 -t 2

# gRPC over TLS: a python3-grpcio server with TLS credentials counts what we counted
protoc --proto_path="$HERE/../../proto" --python_out="$TEST_TMP" user_service.proto
RL_GRPC_TLS_CERT="$TEST_TMP/srv.pem" RL_GRPC_TLS_KEY="$TEST_TMP/srv.key" \
	start_grpc_peer "$HERE/grpc_server.py" "$TEST_TMP" "$TEST_TMP/gcounts.json" || not_ok "grpc tls server starts"
"$RINGLOAD" -q -o json --no-preflight-request --grpc api.performance.UserService/GetUser --data '{"user_id": 42}' --cacert ca.pem \
	-c 2 -t 1 -m 8 -n 1500 "https://127.0.0.1:$PEER_PORT/" > g.json
kill -TERM "$PEER_PID"
wait "$PEER_PID"
check "grpc_tls_server_counts_equal_ours" python3 - gcounts.json g.json <<'PY'
import json, sys
server = json.load(open(sys.argv[1]))
ours = json.load(open(sys.argv[2]))["total"]
assert server == ours["status_codes"], (server, ours["status_codes"])
assert sum(server.values()) == 1500 and server.get("OK", 0) > 0 and ours["tls_ms"]["count"] == 2
PY

# memory: no leak on a TLS run (OpenSSL's one-time allocations are still reachable, not lost)
if ! san_build; then
	timeout 120 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 "$RINGLOAD" -q -n 300 -c 2 --cacert ca.pem -H 'Connection: close' "https://127.0.0.1:$P13/" > vg.log 2>&1
	rc=$?
	check "valgrind_tls_run_clean (rc $rc)" test "$rc" = 0
fi
