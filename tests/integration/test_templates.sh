#!/usr/bin/env bash
# Templates render per request and the server sees them: nginx logs every request line,
# Content-Length and X-Request-Id, over HTTP/1.1 (pipelined) and h2c. Each run's log holds
# its pre-flight request too, rendered like the others ({{seq}} goes on after it).
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
start_nginx "$PORT" || { not_ok "nginx starts" "$(cat "$TEST_TMP/nginx/error.log")"; exit 1; }
URL="http://127.0.0.1:$PORT"

: > "$TEST_TMP/access.log"
"$RINGLOAD" -q -c 4 -t 2 -P 4 -n 2000 -H 'X-Request-Id: {{uuid}}' "$URL/api/users/{{randint 1 10000}}"
log_lines "$TEST_TMP/access.log" > /dev/null
check "randint_in_range_and_varied" python3 - "$TEST_TMP/access.log" <<'PY'
import re, sys
ids = [int(re.search(r"GET /api/users/(\d+) ", l).group(1)) for l in open(sys.argv[1])]
assert len(ids) == 2001 and all(1 <= i <= 10000 for i in ids) and len(set(ids)) > 1500, (len(ids), len(set(ids)))
PY
check "uuid_header_unique_v4" python3 - "$TEST_TMP/access.log" <<'PY'
import re, sys
u = [l.split()[-1] for l in open(sys.argv[1])]
assert len(u) == 2001 and len(set(u)) == 2001
assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", x) for x in u)
PY

: > "$TEST_TMP/access.log"
"$RINGLOAD" -q -c 4 -t 2 -n 1000 "$URL/seq/{{seq}}"
log_lines "$TEST_TMP/access.log" > /dev/null
check "seq_unique_across_threads" python3 - "$TEST_TMP/access.log" <<'PY'
import re, sys
s = [int(re.search(r"/seq/(\d+) ", l).group(1)) for l in open(sys.argv[1])]
assert len(s) == 1001 and set(s) == set(range(1001)), (len(s), len(set(s)), min(s), max(s))
PY

# a templated body gets its own Content-Length: pipelined, a wrong one would break the
# framing and nginx would answer 400
: > "$TEST_TMP/access.log"
"$RINGLOAD" -q -o json -c 2 -t 1 -P 8 -n 1000 -b '{"name":"{{randstr 3}}","n":{{randint 1 100000}}}' "$URL/" > "$TEST_TMP/b.json"
log_lines "$TEST_TMP/access.log" > /dev/null
check "templated_body_content_length_per_request" python3 - "$TEST_TMP/access.log" "$TEST_TMP/b.json" <<'PY'
import json, sys
lines = [l.split() for l in open(sys.argv[1])]
assert len(lines) == 1001 and all(l[3] == "200" for l in lines), set(l[3] for l in lines)
lengths = {int(l[4]) for l in lines}
assert lengths <= set(range(len('{"name":"abc","n":1}'), len('{"name":"abc","n":100000}') + 1)) and len(lengths) > 1, lengths
d = json.load(open(sys.argv[2]))
assert d["total"]["successful"] == 1000
PY

PORT2=$(free_port)
sed "s/listen 127.0.0.1:$PORT;/listen 127.0.0.1:$PORT2 http2;/; s|$TEST_TMP/nginx/nginx.pid|$TEST_TMP/nginx/nginx2.pid|" \
	"$TEST_TMP/nginx/nginx.conf" > "$TEST_TMP/nginx/nginx2.conf"
nginx -c "$TEST_TMP/nginx/nginx2.conf" -p "$TEST_TMP/nginx" -e "$TEST_TMP/nginx/error.log" && wait_port "$PORT2"
PIDS+=("$(cat "$TEST_TMP/nginx/nginx2.pid")")
: > "$TEST_TMP/access.log"
"$RINGLOAD" -q --h2 -c 2 -t 1 -m 8 -n 1000 -H 'x-request-id: {{uuid}}' "http://127.0.0.1:$PORT2/api/users/{{randint 1 10000}}"
log_lines "$TEST_TMP/access.log" > /dev/null
check "h2_templates_in_path_and_headers" python3 - "$TEST_TMP/access.log" <<'PY'
import re, sys
lines = list(open(sys.argv[1]))
ids = [int(re.search(r"GET /api/users/(\d+) HTTP/2.0", l).group(1)) for l in lines]
assert len(ids) == 1001 and all(1 <= i <= 10000 for i in ids) and len(set(ids)) > 800
assert len({l.split()[-1] for l in lines}) == 1001
PY

check "malformed_template_exit_2_names_position" bash -c "'$RINGLOAD' '$URL/a/{{randint 9 1}}' 2>&1 | grep -q 'byte'; test \${PIPESTATUS[0]} = 2"
check "template_in_host_exit_2" bash -c "'$RINGLOAD' 'http://{{uuid}}/' 2>/dev/null; test \$? = 2"

# {{line-seq FILE}}: each line in turn, exactly as often as the others; {{line FILE}}:
# only lines of the file (nginx logs every path)
printf '11\r\n22\n\n33\n' > "$TEST_TMP/ids.txt"
: > "$TEST_TMP/access.log"
"$RINGLOAD" -q --h2 -c 2 -t 2 -m 4 -n 600 "http://127.0.0.1:$PORT2/api/users/{{line-seq $TEST_TMP/ids.txt}}/{{line $TEST_TMP/ids.txt}}"
log_lines "$TEST_TMP/access.log" > /dev/null
check "line_templates_from_a_file" python3 - "$TEST_TMP/access.log" <<'PY'
import collections, re, sys
pairs = [re.search(r"GET /api/users/(\d+)/(\d+) HTTP", l).groups() for l in open(sys.argv[1])]
seq = collections.Counter(a for a, _ in pairs)
rnd = collections.Counter(b for _, b in pairs)
assert len(pairs) == 601 and seq == {"11": 201, "22": 200, "33": 200}, seq  # the pre-flight's first
assert set(rnd) == {"11", "22", "33"} and min(rnd.values()) > 100, rnd
PY
check "line_template_missing_file_exit_2" bash -c "'$RINGLOAD' '$URL/{{line $TEST_TMP/none.txt}}' 2>&1 | grep -q 'none.txt: No such file'; test \${PIPESTATUS[0]} = 2"
