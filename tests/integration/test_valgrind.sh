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

# every early exit of a run frees what it made: a bad target after a good one (exit 2),
# a pre-flight failure (exit 4), a scenario whose second target is bad (exit 2), and a
# run interrupted by SIGINT (exit 0)
leakcheck() { # NAME WANT-RC ARGS...
	local name=$1 want=$2
	shift 2
	timeout 120 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		"$RINGLOAD" -q "$@" > "$TEST_TMP/$name.log" 2>&1
	local rc=$?
	if [ "$rc" = "$want" ]; then ok "valgrind_exit_$name (rc $rc)"; else
		not_ok "valgrind_exit_$name" "exit $rc, want $want" "$(head -c 1500 "$TEST_TMP/$name.log")"; fi
}
leakcheck bad_target 2 --h2 -n 10 "$BASE/" "http://127.0.0.1:notaport/"
leakcheck bad_grpc_data 2 --grpc api.performance.UserService/GetUser --data '{"user_id": {{nope}}}' \
	-n 10 "$BASE/"
leakcheck preflight_failure 4 -n 10 "http://127.0.0.1:$(free_port)/" "http://unix:$TEST_TMP/none.sock:/"
cat > "$TEST_TMP/bad.json" <<JSON
{"targets": [{"name": "ok", "url": "$BASE/", "grpc": "api.performance.UserService/GetUser", "data": {"user_id": "{{randint 1 9}}"}},
             {"name": "bad", "url": "$BASE/{{randint 5}}", "protocol": "h2"}]}
JSON
leakcheck bad_scenario_target 2 -n 10 --scenario "$TEST_TMP/bad.json"
timeout 120 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	"$RINGLOAD" -q -t 2 -c 4 -d 30s --json "$TEST_TMP/int.json" --h2 "$BASE/" > "$TEST_TMP/int.log" 2>&1 &
vg=$!
sleep 3
kill -INT "$vg"
wait "$vg"
rc=$?
if [ "$rc" = 0 ] && [ "$(jget "$TEST_TMP/int.json" 'd["interrupted"]')" = True ]; then
	ok "valgrind_exit_interrupted_run"
else
	not_ok "valgrind_exit_interrupted_run" "exit $rc" "$(head -c 1500 "$TEST_TMP/int.log")"
fi
