#!/usr/bin/env bash
# --metrics-listen: a scrape during a run parses as Prometheus text format (checked by a
# small parser here, no promtool), and once the run has ended its counts equal the
# run's JSON: requests, failures by category and target, the latency count.
. "$(dirname "$0")/../lib.sh"
cd "$TEST_TMP" || exit 1
start_serve || { not_ok "serve starts"; exit 1; }
MPORT=$(free_port)
BASE="http://127.0.0.1:$SERVE_PORT"
"$RINGLOAD" -q -c 4 -t 1 -d 2s --metrics-listen "127.0.0.1:$MPORT" --metrics-linger 3s --json run.json \
	"$BASE/?ttfb=1ms" "$BASE/missing?status=404" 2> run.err &
RUN=$!
sleep 1
curl -s "http://127.0.0.1:$MPORT/metrics" > during.txt
for _ in $(seq 60); do [ -s run.json ] && break; sleep 0.1; done
curl -s "http://127.0.0.1:$MPORT/metrics" > after.txt
wait "$RUN"

cat > prom.py <<'PY'
import math, re, sys
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? '
                    r'(-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf))$')
def parse(path):
    """{(name, frozenset(labels)): value}; raises on any line the text format does not allow"""
    types, out = {}, {}
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("# HELP ") or not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert typ in ("counter", "gauge", "summary", "histogram", "untyped"), line
            types[name] = typ
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample: " + line
        name = m.group(1)
        base = re.sub(r"_(sum|count)$", "", name)
        assert name in types or base in types, "no TYPE for " + name
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(name, labels)] = float(m.group(4))
    return out
PY
check "scrape_during_run_parses" python3 -c "
import sys; sys.path.insert(0, '.'); import prom
m = prom.parse('during.txt')
assert any(k[0] == 'ringload_requests_total' and v > 0 for k, v in m.items()), m
assert m[('ringload_run_finished', frozenset())] == 0"
check "scrape_after_run_equals_json" python3 -c "
import json, sys; sys.path.insert(0, '.'); import prom
m = prom.parse('after.txt')
d = json.load(open('run.json'))
assert m[('ringload_run_finished', frozenset())] == 1
for t in d['targets']:
    lab = frozenset({('target', t['name'] if 'name' in t else t['url'])})
    assert m[('ringload_requests_total', lab)] == t['requests'], (t['requests'], m[('ringload_requests_total', lab)])
    assert m[('ringload_latency_seconds_count', lab)] == t['latency_ms']['count']
    fails = {dict(k[1])['category']: v for k, v in m.items() if k[0] == 'ringload_failures_total' and ('target', dict(lab)['target']) in k[1]}
    assert fails == {k: float(v) for k, v in t['errors'].items()}, (fails, t['errors'])
assert sum(v for k, v in m.items() if k[0] == 'ringload_failures_total') == d['total']['failed'] > 0"
check "metrics_listen_bad_address_exit_2" bash -c "'$RINGLOAD' -n 1 --metrics-listen nowhere '$BASE/' 2> e; test \$? = 2 && grep -q 'metrics-listen' e"
