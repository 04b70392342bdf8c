#!/usr/bin/env bash
# `ringload serve --tls`: a fresh self-signed ECDSA P-256 certificate made in memory (its
# SHA-256 fingerprint printed, and the one a client sees), HTTP/1.1 and h2 by ALPN on one
# port, gRPC over it; counts the server made equal ours; other clients (curl, h2load) get
# the same; --cert/--key from files; bad flags exit 2.
. "$(dirname "$0")/../lib.sh"
cd "$TEST_TMP" || exit 1

start_serve --tls || { not_ok "serve --tls starts" "$(cat "$TEST_TMP/serve.out")"; exit 1; }
BASE="https://127.0.0.1:$SERVE_PORT"
printed=$(sed -n 's/.*SHA-256 fingerprint \([0-9A-F:]*\).*/\1/p' serve.out)
openssl s_client -connect "127.0.0.1:$SERVE_PORT" < /dev/null 2> /dev/null | openssl x509 -out served.pem 2> /dev/null
seen=$(openssl x509 -in served.pem -noout -fingerprint -sha256 2> /dev/null | cut -d= -f2)
check "serve_tls_fingerprint_printed_is_served (${printed:0:11}...)" test -n "$printed" -a "$printed" = "$seen"
check "serve_tls_certificate_p256_for_localhost" bash -c "openssl x509 -in served.pem -noout -text |
	grep -q 'NIST CURVE: P-256' && openssl x509 -in served.pem -noout -ext subjectAltName | grep -q 'DNS:localhost, IP Address:127.0.0.1'"

served() { # PROTO: requests the server counted for PROTO so far (its /stats polls are not)
	curl -sk --http1.1 "$BASE/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['per_protocol']['$1']['requests'])"
}
# exact NAME PROTO N ARGS...: ringload's N successes are the N requests serve counted
exact() {
	local name=$1 proto=$2 n=$3
	shift 3
	local before after
	before=$(served "$proto")
	"$RINGLOAD" -q -o json -k -n "$n" "$@" > "$name.json" 2> "$name.err"
	after=$(served "$proto")
	local got
	got=$(jget "$name.json" '(d["total"]["requests"], d["total"]["successful"])')
	if [ "$got" = "($n, $n)" ] && [ "$((after - before))" = "$n" ]; then
		ok "$name"
	else
		not_ok "$name" "ringload $got, serve counted $((after - before))" "$(head -c 300 "$name.err")"
	fi
}
exact serve_tls_h1_exact http1 3000 -c 4 -t 2 "$BASE/api/users/7"
exact serve_tls_h2_by_alpn_exact h2 5000 --h2 -c 2 -m 16 -t 2 "$BASE/?size=2000"
exact serve_tls_grpc_exact grpc 2000 --grpc api.performance.UserService/GetUser --data '{"user_id": 42}' -c 2 -m 8 "$BASE/"
check "serve_tls_alpn_recorded" test "$(jget serve_tls_h1_exact.json 'd["targets"][0]["tls"]["alpn"]'),$(jget serve_tls_h2_by_alpn_exact.json \
	'd["targets"][0]["tls"]["alpn"]'),$(jget serve_tls_h2_by_alpn_exact.json 'd["targets"][0]["tls"]["version"]')" = "http/1.1,h2,TLSv1.3"
check "serve_tls_handshake_phase" test "$(jget serve_tls_h1_exact.json \
	'd["total"]["tls_ms"]["count"] == d["total"]["connections"]["opened"] == 4 and d["total"]["handshakes_full"] == 4')" = True
# ghz's habit: a bare HOST:PORT gRPC target is TLS (--skipTLS: no verification)
"$RINGLOAD" -q -o json --call api.performance.UserService.GetUser --data '{"user_id": 1}' --skipTLS -c 1 -n 200 \
	"127.0.0.1:$SERVE_PORT" > bare.json
check "grpc_bare_host_port_is_tls" test "$(jget bare.json '(d["total"]["successful"], d["config"]["urls"][0].startswith("https://"), d["total"]["tls_ms"]["count"])')" = "(200, True, 1)"
# a new connection per request: sessions (TLS 1.3 tickets) resume after the first
"$RINGLOAD" -q -o json -k -c 1 -t 1 --no-keepalive -n 300 "$BASE/" > nokeep.json
check "serve_tls_sessions_resume" test "$(jget nokeep.json '(d["total"]["successful"], d["total"]["handshakes_full"], d["total"]["handshakes_resumed"])')" = "(300, 1, 299)"
# big bodies in many records, both ways
head -c 300000 /dev/zero > body.bin
"$RINGLOAD" -q -o json -k -c 2 -t 1 -n 200 -b @body.bin -X POST "$BASE/?size=1000000" > big.json
check "serve_tls_megabyte_bodies" test "$(jget big.json '(d["total"]["successful"], d["total"]["bytes_received"] > 200 * 1000000)')" = "(200, True)"

# the handshake is a phase in the HTML report and in compare
"$RINGLOAD" report serve_tls_h1_exact.json -o tls.html 2> report.err
check "html_report_has_tls_phase" bash -c "grep -q 'Connect, TLS handshake, first byte and download' tls.html && grep -q '<td>tls</td>' tls.html"
"$RINGLOAD" compare serve_tls_h1_exact.json nokeep.json > cmp.txt 2>&1
check "compare_has_tls_rows" bash -c "grep -q 'tls p50 ms' cmp.txt && grep -q 'tls p99 ms' cmp.txt"
"$RINGLOAD" -q -o csv -k -n 100 "$BASE/" > tls.csv 2> /dev/null
check "csv_has_tls_phase" grep -q '^total.tls_ms.p99,' tls.csv

# other clients
check "curl_h2_over_serve_tls" test "$(curl -sk --http2 -o /dev/null -w '%{http_code} %{http_version}' "$BASE/")" = "200 2"
check "curl_h1_over_serve_tls" test "$(curl -sk --http1.1 -o /dev/null -w '%{http_code} %{http_version}' "$BASE/?size=70000")" = "200 1.1"
check "h2load_over_serve_tls" bash -c "h2load -n 2000 -c 4 -m 8 '$BASE/' 2>&1 | grep -q '2000 succeeded, 0 failed, 0 errored'"
kill "$SERVE_PID"

# --cert/--key: a certificate from a CA the client trusts, verified by name
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=serve CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' > ext.cnf
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf 2>/dev/null
start_serve --tls --cert srv.pem --key srv.key || not_ok "serve --tls --cert starts" "$(cat serve.out)"
"$RINGLOAD" -q -o json --cacert ca.pem -n 500 -c 2 "https://localhost:$SERVE_PORT/" > files.json
check "serve_tls_cert_files_verified" test "$(jget files.json 'd["total"]["successful"]')" = 500
kill "$SERVE_PID"

# bad flags: one line, exit 2
bad() { # NAME WORDS ARGS...
	local name=$1 words=$2
	shift 2
	"$RINGLOAD" serve --port 0 "$@" > "$name.out" 2> "$name.err"
	local rc=$?
	check "$name (rc $rc)" bash -c "test $rc = 2 && grep -q '$words' '$name.err' && test \$(wc -l < '$name.err') = 1"
}
bad serve_tls_key_without_cert "needs --cert" --tls --key srv.key
bad serve_tls_cert_unreadable "none.pem" --tls --cert none.pem --key srv.key
bad serve_tls_key_not_matching "\-\-key ca.key" --tls --cert srv.pem --key ca.key

