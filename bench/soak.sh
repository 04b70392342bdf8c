#!/usr/bin/env bash
# Soak: REQUESTS requests (default 10 million) or MAX_SECONDS (default 300), whichever
# comes first, against `ringload serve` on loopback, sampling the client's resident set
# and open descriptors 4 times a second. After the warm-up (the first 10% of the run,
# at least 2 s: the first per-second snapshots are allocated at 1 s) the peak RSS may
# grow by less than 1 MiB and the descriptor count may not move. Prints the numbers;
# exits 1 if either bound is broken.
#   bench/soak.sh [RINGLOAD] [REQUESTS] [MAX_SECONDS] [RATE]
# RATE (requests/s, open loop) stretches a short soak over enough samples.
set -u
RINGLOAD=${1:-build/ringload}
REQUESTS=${2:-10000000}
MAX_SECONDS=${3:-300}
RATE=${4:+-R $4}
TMP=$(mktemp -d /tmp/ringload-soak.XXXXXX)
SERVE_PID=
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2> /dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

"$RINGLOAD" serve --port 0 > "$TMP/serve.out" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do
	PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/serve.out" | cut -d: -f3)
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "${PORT:-}" ] || { echo "soak: ringload serve did not start" >&2; exit 1; }

# shellcheck disable=SC2086
"$RINGLOAD" -q -t 2 -c 50 $RATE -n "$REQUESTS" -d "${MAX_SECONDS}s" --json "$TMP/run.json" \
	"http://127.0.0.1:$PORT/api/users/{{randint 1 10000}}" &
PID=$!
start=$(date +%s%N)
echo "t_s,rss_kb,fds" > "$TMP/samples.csv"
while kill -0 "$PID" 2> /dev/null; do
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2> /dev/null)
	fds=$(ls "/proc/$PID/fd" 2> /dev/null | wc -l)
	now=$(date +%s%N)
	[ -n "$rss" ] && echo "$(((now - start) / 1000000)),$rss,$fds" >> "$TMP/samples.csv"
	sleep 0.25
done
wait "$PID"
rc=$?
[ "$rc" = 0 ] || { echo "soak: ringload exited $rc" >&2; exit 1; }

python3 - "$TMP/samples.csv" "$TMP/run.json" <<'PY'
import csv, json, sys
rows = [(int(r["t_s"]) / 1000, int(r["rss_kb"]), int(r["fds"])) for r in csv.DictReader(open(sys.argv[1]))]
total = json.load(open(sys.argv[2]))["total"]
if len(rows) < 4:
    sys.exit("soak: too few samples (%d): run longer" % len(rows))
end = rows[-1][0]
warm = max(2.0, end * 0.1)
before = [r for r in rows if r[0] <= warm] or rows[:1]
after = [r for r in rows[:-1] if r[0] > warm]  # the last may catch the exit
base = before[-1][1]
growth = max(r[1] for r in after) - base
fds = sorted({r[2] for r in after})
assert total["requests"] == total["successful"] + total["failed"]
print("soak: %d requests (%d failed) in %.1f s, %.0f req/s" % (total["requests"], total["failed"], end,
      total["requests"] / max(end, 1e-9)))
print("soak: RSS %d kB after %.1f s of warm-up, peak %d kB after it: growth %d kB (bound 1024 kB)"
      % (base, warm, max(r[1] for r in after), growth))
print("soak: open descriptors after warm-up: %s (%d samples)" % (", ".join(map(str, fds)), len(after)))
ok = growth < 1024 and len(fds) == 1
print("soak: %s" % ("ok" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY
