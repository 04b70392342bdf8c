#!/usr/bin/env bash
# Per-second history: one row per second per target (and the total) in the JSON and in
# --history; the rows add up exactly to the run's counts.
. "$(dirname "$0")/../lib.sh"

start_serve || { not_ok "serve starts"; exit 1; }
BASE="http://127.0.0.1:$SERVE_PORT"
"$RINGLOAD" -q -o json -c 4 -t 2 -d 3500ms --history "$TEST_TMP/h.csv" \
	"$BASE/?ttfb=2ms" "$BASE/?status=503&ttfb=2ms" > "$TEST_TMP/h.json"
# whole seconds, then the last partial one at the measured end (a loaded machine ends late)
check "history_rows_each_second" test "$(jget "$TEST_TMP/h.json" '[round(r["t"], 1) for r in d["total"]["history"]]')" = "[1.0, 2.0, 3.0, 3.5]"
check "history_rows_add_up_exactly" python3 - "$TEST_TMP/h.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["targets"] + [d["total"]]:
    assert sum(r["requests"] for r in s["history"]) == s["requests"], s["history"]
    assert sum(r["errors"] for r in s["history"]) == s["failed"]
assert d["targets"][1]["history"][0]["errors"] == d["targets"][1]["history"][0]["requests"] > 0
assert all(2 <= r["p50_ms"] <= 4 for r in d["total"]["history"])
PY
check "history_csv_matches_json" python3 - "$TEST_TMP/h.csv" "$TEST_TMP/h.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
d = json.load(open(sys.argv[2]))
total = [r for r in rows if r["target"] == "total"]
assert [int(r["requests"]) for r in total] == [r["requests"] for r in d["total"]["history"]]
assert len(rows) == 3 * len(total) and set(r["target"] for r in rows) == {"total", *[t["name"] for t in d["targets"]]}
PY
check "history_unwritable_exit_2" bash -c "'$RINGLOAD' --history /nonexistent-dir/h.csv '$BASE/' 2>&1 | grep -q 'nonexistent-dir'"
"$RINGLOAD" -q -o json -c 2 -t 1 -d 1500ms --warmup 1s "$BASE/" > "$TEST_TMP/w.json"
check "history_starts_after_warmup" test "$(jget "$TEST_TMP/w.json" \
	'([round(r["t"], 1) for r in d["total"]["history"]], sum(r["requests"] for r in d["total"]["history"]) == d["total"]["requests"])')" = "([1.0, 1.5], True)"

# --failures: category, target, count, first message; counts equal the JSON's
DEAD=$(free_port)
"$RINGLOAD" -q -o json --no-preflight -c 4 -t 1 -n 400 --failures "$TEST_TMP/f.csv" \
	"$BASE/?status=503" "http://127.0.0.1:$DEAD/" > "$TEST_TMP/f.json"
check "failures_file_matches_counts" python3 - "$TEST_TMP/f.csv" "$TEST_TMP/f.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
d = json.load(open(sys.argv[2]))
got = {(r["category"], r["target"]): int(r["count"]) for r in rows}
want = {(k, t["name"]): v for t in d["targets"] for k, v in t["errors"].items()}
assert got == want, (got, want)
assert sum(got.values()) == d["total"]["failed"] == 400
msgs = {r["category"]: r["first_message"] for r in rows}
assert msgs["http_503"] == "HTTP status 503", msgs
assert msgs["connect_refused"] == "Connection refused", msgs
PY
check "failures_unwritable_exit_2" bash -c "'$RINGLOAD' --failures /nonexistent-dir/f.csv '$BASE/' 2>&1 | grep -q 'nonexistent-dir'"
