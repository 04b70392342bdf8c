#!/usr/bin/env bash
# The HTML report (--html and `ringload report`): one self-contained page, opened in
# headless Chromium, which must log no console message and draw every chart.
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"
cd "$TEST_TMP" || exit 1

# browse FILE NAME: dumps the rendered DOM to NAME.dom, console lines to NAME.console and a
# screenshot to NAME.png (kept in the test's temp dir while it runs)
browse() {
	local flags=(--headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars
		--user-data-dir="$TEST_TMP/chromium" --enable-logging=stderr --v=0)
	timeout 60 chromium "${flags[@]}" --dump-dom "file://$TEST_TMP/$1" > "$2.dom" 2> "$2.log"
	grep 'CONSOLE' "$2.log" > "$2.console"
	timeout 60 chromium "${flags[@]}" --window-size=1280,5000 --screenshot="$TEST_TMP/$2.png" \
		"file://$TEST_TMP/$1" > /dev/null 2>&1
}

# charts_drawn NAME MIN: the page's self-check found MIN or more charts, every one drawn
charts_drawn() {
	python3 - "$1.dom" "$2" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
charts = re.search(r'data-charts="(\d+)"', dom)
drawn = re.search(r'data-charts-drawn="(\d+)"', dom)
assert charts and drawn, "the page's script did not run"
assert int(charts.group(1)) >= int(sys.argv[2]), charts.group(0)
assert charts.group(1) == drawn.group(1), (charts.group(0), drawn.group(0))
assert dom.count('<path') > 0
PY
}

# A two-target run in stages: every section of the report has something to show.
"$RINGLOAD" -q -t 1 -c 8 --stages "500ms:2,500ms:4,1s:8" --json run.json --html run.html \
	"$BASE/?size=200" "$BASE/?status=503&ttfb=1ms"
check "html_run_exit_0" test $? = 0
check "html_file_written" test -s run.html
"$RINGLOAD" report run.json -o again.html
check "report_verb_exit_0" test $? = 0
check "report_verb_equals_html_flag" cmp -s run.html again.html
check "html_is_self_contained" bash -c "! grep -Eiq '<(link|img|iframe|object|embed)|src=|href=|@import|url\\(' run.html"

browse run.html run
check "chromium_logs_no_console_message" test ! -s run.console
check "chromium_draws_every_chart" charts_drawn run 7
check "chromium_screenshot_saved" bash -c "test \$(stat -c %s run.png) -gt 20000 && head -c 8 run.png | od -An -c | grep -q 'P   N   G'"

check "html_tables_match_the_run" python3 - run.json run.html <<'PY'
import json, sys
from html.parser import HTMLParser
d = json.load(open(sys.argv[1]))

class Tables(HTMLParser):
    def __init__(self):
        super().__init__(); self.tables = []; self.cell = None
    def handle_starttag(self, tag, attrs):
        if tag == "table": self.tables.append([])
        elif tag == "tr" and self.tables: self.tables[-1].append([])
        elif tag in ("td", "th"): self.cell = ""
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(self.cell); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data

p = Tables(); p.feed(open(sys.argv[2]).read())
by_head = {tuple(t[0][:2]): t for t in p.tables if t}
targets = by_head[("target", "protocol")]
head = targets[0]
rows = {r[0]: dict(zip(head, r)) for r in targets[1:]}
for s in d["targets"] + [dict(d["total"], name="total")]:
    r = rows[s["name"]]
    for k in ("requests", "successful", "failed"):
        assert int(r[k]) == s[k], (s["name"], k, r[k], s[k])
    assert abs(float(r["p99 ms"]) - s["latency_ms"]["p99"]) < 0.0015
stages = by_head[("stage", "start s")]
assert [int(r[4]) for r in stages[1:]] == [s["requests"] for s in d["stages"]]
errors = by_head[("errors", d["targets"][0]["name"])]
assert errors[1][0] == "http_503" and int(errors[1][-1]) == d["total"]["errors"]["http_503"]
cmp = by_head[("metric", d["targets"][0]["name"])]
assert [r[0] for r in cmp[1:]][:2] == ["success rate %", "throughput req/s"]
assert cmp[1][3] == d["targets"][0]["name"]  # all 200s beat all 503s
PY

# A run shorter than a second has one history row: its charts still draw (as dots).
"$RINGLOAD" -q -t 1 -c 2 -n 300 --h2 --html short.html "$BASE/"
browse short.html short
check "short_h2_run_draws_every_chart" charts_drawn short 5
check "short_h2_run_no_console_message" test ! -s short.console

# gRPC, through the report verb
"$RINGLOAD" -q -t 1 -c 2 -n 500 --grpc api.performance.UserService/GetUser --data '{"user_id": 7}' \
	-o json "$BASE" > grpc.json
"$RINGLOAD" report grpc.json -o grpc.html
browse grpc.html grpc
check "grpc_report_draws_every_chart" charts_drawn grpc 5
check "grpc_report_shows_status_names" grep -q '<td>OK</td>' grpc.html

# twenty targets: the charts draw the first 14 and the total, the tables every one
urls=()
for i in $(seq 20); do urls+=("$BASE/?size=$i"); done
"$RINGLOAD" -q -t 1 -c 20 -n 2000 --json many.json --html many.html "${urls[@]}"
browse many.html many
check "twenty_targets_charts_drawn" charts_drawn many 5
check "twenty_targets_all_in_the_table" python3 - many.html <<'PY'
import re, sys
page = open(sys.argv[1]).read()
targets = page[page.index('id="targets"'):page.index('id="comparison"')]
rows = re.findall(r'<tr><td>http://127\.0\.0\.1:\d+/\?size=(\d+)</td>', targets)
assert sorted(map(int, rows)) == list(range(1, 21)), rows
assert "The charts show the first 14 targets" in page
PY

echo '{"not": "a result"}' > other.json
check "report_rejects_other_json_exit_2" bash -c "'$RINGLOAD' report other.json -o x.html 2>&1 | grep -q \"'other.json' is not a ringload JSON result\"; test \${PIPESTATUS[0]} = 2"
check "report_needs_output_exit_2" bash -c "'$RINGLOAD' report run.json 2>/dev/null; test \$? = 2"
check "report_unwritable_output_exit_2" bash -c "'$RINGLOAD' report run.json -o /nonexistent/dir/x.html 2>&1 | grep -q nonexistent; test \${PIPESTATUS[0]} = 2"
check "html_unwritable_is_an_error_before_the_run" bash -c "'$RINGLOAD' -q -n 10 --html /nonexistent/x.html '$BASE/' 2>&1 | grep -q nonexistent; test \${PIPESTATUS[0]} = 2"
