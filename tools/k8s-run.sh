#!/usr/bin/env bash
# A sharded ringload run on the current kubectl context: renders deploy/k8s with one
# absolute start time for every pod, applies it, waits for the Indexed Job, collects each
# pod's JSON result from its log, merges them exactly and writes the HTML report.
#   tools/k8s-run.sh [OUT_DIR]    env: NAMESPACE (default), LEAD (45: seconds from now
#                                 to the start, time for every pod to be scheduled),
#                                 TIMEOUT (1h: for the Job), RINGLOAD (ringload),
#                                 K8S_DIR (deploy/k8s: the kustomization)
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-k8s-run}
NS=${NAMESPACE:-default}
LEAD=${LEAD:-45}
RINGLOAD=${RINGLOAD:-ringload}
JOB=ringload
mkdir -p "$OUT"
START=$(date -u -d "@$(($(date +%s) + LEAD))" +%Y-%m-%dT%H:%M:%SZ)
echo "k8s-run: every shard starts at $START" >&2
kubectl kustomize "${K8S_DIR:-deploy/k8s}" | sed "s/SET_BY_K8S_RUN/\"$START\"/" > "$OUT/rendered.yaml"
kubectl -n "$NS" delete job "$JOB" --ignore-not-found >/dev/null
kubectl -n "$NS" apply -f "$OUT/rendered.yaml" >&2
kubectl -n "$NS" wait --for=condition=complete --timeout="${TIMEOUT:-1h}" "job/$JOB" >&2
n=$(kubectl -n "$NS" get job "$JOB" -o jsonpath='{.spec.completions}')
# each pod's index is its completion index; its log is its result (warnings first, then
# the JSON object, which starts at a line of its own)
kubectl -n "$NS" get pods -l "job-name=$JOB" \
	-o jsonpath='{range .items[*]}{.metadata.name} {.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{"\n"}{end}' |
while read -r pod index; do
	kubectl -n "$NS" logs "$pod" | sed -n '/^{/,$p' > "$OUT/shard-$index.json"
done
files=()
for i in $(seq 0 $((n - 1))); do
	[ -s "$OUT/shard-$i.json" ] || { echo "k8s-run: no result from shard $i" >&2; exit 1; }
	files+=("$OUT/shard-$i.json")
done
"$RINGLOAD" merge -o "$OUT/merged.json" "${files[@]}"
"$RINGLOAD" report "$OUT/merged.json" -o "$OUT/report.html"
echo "k8s-run: $n shards merged into $OUT/merged.json; report in $OUT/report.html" >&2
