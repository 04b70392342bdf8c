#!/usr/bin/env bash
# valgrind memcheck over short load tests (HTTP/1.1 with templates, h2c with the HTML
# report, templated gRPC): no memory error, no definite or indirect leak.
. "$(dirname "$0")/../lib.sh"

if san_build; then
	ok "valgrind # SKIP the SAN=1 binary carries ASan, which valgrind cannot run"
	exit 0
fi
start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"

# memcheck NAME ARGS...: ringload under valgrind; any error or leak makes it exit 99
memcheck() {
	local name=$1
	shift
	timeout 120 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		"$RINGLOAD" -q -t 2 -c 4 -n 2000 --json "$TEST_TMP/$name.json" "$@" > "$TEST_TMP/$name.log" 2>&1
	local rc=$?
	if [ "$rc" = 0 ] && [ "$(jget "$TEST_TMP/$name.json" 'd["total"]["successful"]')" = 2000 ]; then
		ok "valgrind_$name"
	else
		not_ok "valgrind_$name" "exit $rc" "$(head -c 1500 "$TEST_TMP/$name.log")"
	fi
}

memcheck h1_templates -H 'X-Id: {{uuid}}' "$BASE/api/users/{{randint 1 10000}}?n={{seq}}"
memcheck h2_html --h2 -m 8 --html "$TEST_TMP/report.html" "$BASE/?size=3000"
memcheck grpc_templates --grpc api.performance.UserService/GetUser --data '{"user_id": {{randint 1 100}}}' "$BASE"
