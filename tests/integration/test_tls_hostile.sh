#!/usr/bin/env bash
# TLS servers that break the rules on purpose (tests/hostile/tls_server.py): an expired
# certificate, one for another name, one from an unknown CA, a handshake that stalls, a
# plaintext reply to the ClientHello, a fatal alert in mid-body, a truncated record, a
# close without close_notify in mid-body (and one after a whole body, which is fine).
# Each run ends on time, exits 0, accounts for every request and names the failure.
. "$(dirname "$0")/../lib.sh"
SERVER="$(cd "$(dirname "$0")/../hostile" && pwd)/tls_server.py"
cd "$TEST_TMP" || exit 1

# a CA; a good certificate; an expired one and one for another name from the same CA;
# and a self-signed one no one trusts
key() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" \
	-addext "subjectAltName=$3" 2>/dev/null; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj "/CN=ringload hostile CA" 2>/dev/null
key good localhost "DNS:localhost,IP:127.0.0.1"
key other other.example "DNS:other.example"
openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out good.pem -days 2 -copy_extensions copy 2>/dev/null
openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out other.pem -days 2 -copy_extensions copy 2>/dev/null
# `openssl ca` is the CLI's way to set notBefore/notAfter in the past
: > index.txt
echo 1000 > serial
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n[p]\ncommonName = supplied\n' > ca.cnf
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in good.csr -out expired.pem -notext \
	-startdate 20200101000000Z -enddate 20200102000000Z > /dev/null 2>&1
cp good.key expired.key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout stranger.key -out stranger.pem -days 2 \
	-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
check "certificates_made" test -s good.pem -a -s other.pem -a -s expired.pem -a -s stranger.pem

# tls_hostile NAME MODE CERT MAX_SECONDS EXPECT [ARGS...]: ringload against the server in
# MODE with CERT; EXPECT is a Python expression over the total `t` and the --failures
# rows `f`.
tls_hostile() {
	local name=$1 mode=$2 cert=$3 max=$4 expect=$5
	shift 5
	python3 "$SERVER" "$mode" 0 "$cert.pem" "$cert.key" > "$name.port" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	local port=""
	for _ in $(seq 100); do
		port=$(awk '/^port/ { print $2 }' "$name.port" 2> /dev/null)
		[ -n "$port" ] && break
		sleep 0.05
	done
	local started rc ms
	started=$(date +%s%N)
	timeout -k 2 $((max + 10)) $VALGRIND "$RINGLOAD" -q --json "$name.json" --failures "$name.csv" --no-preflight \
		--cacert ca.pem -t 1 -c 2 "$@" "https://127.0.0.1:$port/" 2> "$name.err"
	rc=$?
	ms=$((($(date +%s%N) - started) / 1000000))
	kill "$pid" 2>/dev/null
	if [ "$rc" != 0 ]; then
		not_ok "$name" "exit $rc after $ms ms: $(head -c 400 "$name.err")"
	elif [ -z "$VALGRIND" ] && [ "$ms" -gt $((max * 1000)) ]; then
		not_ok "$name" "took $ms ms, more than $max s"
	elif ! accounting_holds "$name.json" 2> "$name.acct"; then
		not_ok "$name" "accounting: $(tail -1 "$name.acct")"
	else
		check "$name" python3 - "$name.json" "$name.csv" "$expect" <<'PY'
import csv, json, sys
t = json.load(open(sys.argv[1]))["total"]
f = {r["category"]: r["first_message"] for r in csv.DictReader(open(sys.argv[2]))}
ok = eval(sys.argv[3])
if not ok:
    print("# expected", sys.argv[3])
    print("# total: requests", t["requests"], "successful", t["successful"], "errors", t["errors"])
    print("# failures:", f)
sys.exit(0 if ok else 1)
PY
	fi
}
all_as() { # CATEGORY WORDS: every request failed as CATEGORY, its first message has WORDS
	echo "t['requests'] > 0 and t['failed'] == t['requests'] and t['errors'] == {'$1': t['failed']} and '$2' in f['$1']"
}
RUN=(-d 1s --timeout 500ms --connect-timeout 300ms)
VALGRIND=""
tls_hostile tls_ok_server_succeeds ok good 5 "t['requests'] > 100 and t['successful'] == t['requests']" "${RUN[@]}"
# records split across receives at every kind of boundary, the handshake's too: OpenSSL
# reads each receive in place and keeps what a record still lacks
tls_hostile tls_records_in_pieces dribble good 5 "t['requests'] >= 10 and t['successful'] == t['requests']" "${RUN[@]}"
tls_hostile tls_expired_certificate expired expired 5 "$(all_as tls_verify 'certificate has expired')" "${RUN[@]}"
tls_hostile tls_wrong_host_name ok other 5 "$(all_as tls_verify 'hostname mismatch')" --sni localhost "${RUN[@]}"
tls_hostile tls_wrong_ip_address ok other 5 "$(all_as tls_verify 'IP address mismatch')" "${RUN[@]}"
tls_hostile tls_unknown_ca ok stranger 5 "$(all_as tls_verify 'self-signed certificate')" "${RUN[@]}"
tls_hostile tls_stalled_handshake stall good 5 "$(all_as connect_timeout 'TLS handshake')" "${RUN[@]}"
tls_hostile tls_plaintext_reply_to_client_hello plaintext_reply good 5 "$(all_as tls_protocol 'wrong version number')" "${RUN[@]}"
tls_hostile tls_alert_mid_body alert_mid_body good 5 "$(all_as tls_alert:bad_record_mac 'alert bad_record_mac from the server')" "${RUN[@]}"
tls_hostile tls_truncated_record truncated_record good 5 "$(all_as tls_protocol 'in the middle of a TLS record')" "${RUN[@]}"
tls_hostile tls_close_mid_body_without_close_notify close_mid_body good 5 "$(all_as eof 'inside the response')" "${RUN[@]}"
tls_hostile tls_close_after_body_without_close_notify_is_fine close_after_body good 5 \
	"t['requests'] > 10 and t['successful'] == t['requests']" "${RUN[@]}"
# the pre-flight's full handshake says why before the run: exit 4
python3 "$SERVER" ok 0 expired.pem expired.key > pre.port 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [ -s pre.port ] && break; sleep 0.05; done
"$RINGLOAD" -n 5 --cacert ca.pem "https://localhost:$(awk '/^port/ { print $2 }' pre.port)/" > /dev/null 2> pre.err
rc=$?
check "tls_preflight_expired_exit_4 (rc $rc)" bash -c "test $rc = 4 && grep -q 'certificate has expired' pre.err"

# a server that speaks TLS 1.2 at most: once it has answered, new connections offer 1.2 as
# their highest and make no TLS 1.3 key share that it would ignore. Of six connections,
# only the first ClientHello carries one (each prints a line: the server's msg callback).
python3 "$SERVER" tls12_hellos 0 good.pem good.key > hellos.log 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [ -s hellos.log ] && break; sleep 0.05; done
timeout -k 2 20 "$RINGLOAD" -q --json hellos.json --no-preflight --cacert ca.pem --tls-resume 0 -t 1 -c 1 -n 6 \
	"https://127.0.0.1:$(awk '/^port/ { print $2 }' hellos.log)/" 2> hellos.err
shares="$(grep -c 'key_share=1' hellos.log) $(grep -c 'key_share=0' hellos.log) $(jget hellos.json "d['total']['successful']")"
check "tls12_server_gets_one_key_share (with, without, ok: $shares)" test "$shares" = "1 5 6"

# the same under valgrind: no leak on any failure path (definite and indirect leaks fail
# the run; OpenSSL's one-time allocations stay reachable and are not reported: no
# suppression is needed)
if ! san_build; then
	VALGRIND="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
	RUN=(-n 40 --timeout 2s --connect-timeout 1s)
	tls_hostile valgrind_tls_expired expired expired 30 "$(all_as tls_verify 'certificate has expired')" "${RUN[@]}"
	tls_hostile valgrind_tls_alert_mid_body alert_mid_body good 30 "$(all_as tls_alert:bad_record_mac 'bad_record_mac')" "${RUN[@]}"
	tls_hostile valgrind_tls_truncated_record truncated_record good 30 "$(all_as tls_protocol 'TLS record')" "${RUN[@]}"
	tls_hostile valgrind_tls_plaintext_reply plaintext_reply good 30 "$(all_as tls_protocol 'wrong version number')" "${RUN[@]}"
	tls_hostile valgrind_tls_stall stall good 30 "$(all_as connect_timeout 'TLS handshake')" "${RUN[@]}"
fi

# merge keeps each alert's category and the agreed session (shards of one run)
"$RINGLOAD" merge -o merged.json tls_alert_mid_body.json tls_alert_mid_body.json 2> merge.err || cat merge.err
n=$(jget tls_alert_mid_body.json "d['total']['errors']['tls_alert:bad_record_mac']")
check "merge_keeps_tls_alert_and_session" test "$(jget merged.json \
	"(d['total']['errors'].get('tls_alert:bad_record_mac') == 2 * $n, d['targets'][0].get('tls', {}).get('version'))")" = "(True, 'TLSv1.3')"
