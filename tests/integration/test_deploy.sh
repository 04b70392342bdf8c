#!/usr/bin/env bash
# deploy/k8s, checked offline (there is no cluster here): `kubectl kustomize` renders it,
# the rendered Job is an Indexed Job whose every pod runs its shard from one start, the
# image is the non-root runtime one; then tools/k8s-run.sh runs against a stand-in for
# kubectl that starts the rendered pods as processes (with the rendered arguments, the
# ConfigMap's scenario and the Job's completion indexes) and hands back their logs, and
# the run merges exactly.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TEST_TMP" || exit 1

kubectl kustomize "$ROOT/deploy/k8s" > rendered.yaml 2> render.err
check "kustomize_renders_offline" test -s rendered.yaml
check "rendered_job_is_a_sharded_indexed_job" python3 - rendered.yaml <<'PY'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
job = next(d for d in docs if d["kind"] == "Job")
cm = next(d for d in docs if d["kind"] == "ConfigMap")
spec = job["spec"]
n = spec["completions"]
assert spec["completionMode"] == "Indexed" and spec["parallelism"] == n > 1, spec
pod = spec["template"]["spec"]
c = pod["containers"][0]
args = c["args"]
assert args[args.index("--shard") + 1] == f"$(JOB_COMPLETION_INDEX)/{n}", args
idx = next(e for e in c["env"] if e["name"] == "JOB_COMPLETION_INDEX")
assert "job-completion-index" in idx["valueFrom"]["fieldRef"]["fieldPath"], idx
assert args[args.index("--start-at") + 1] == "$(START_AT)", args
assert any(e["name"] == "START_AT" for e in c["env"]), c["env"]
assert c["image"] == "ringload:latest", c["image"]
r = c["resources"]
assert r["requests"]["cpu"] and r["requests"]["memory"] and r["limits"]["cpu"] and r["limits"]["memory"], r
assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
assert pod["restartPolicy"] == "Never"
scenario = args[args.index("--scenario") + 1]
mount = next(m for m in c["volumeMounts"] if scenario.startswith(m["mountPath"] + "/"))
vol = next(v for v in pod["volumes"] if v["name"] == mount["name"])
assert vol["configMap"]["name"] == cm["metadata"]["name"]
json.loads(cm["data"][scenario.rsplit("/", 1)[1]])
PY
check "dockerfile_runtime_is_slim_and_not_root" python3 - "$ROOT/deploy/k8s/Dockerfile" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
final = lines[max(i for i, l in enumerate(lines) if l.startswith("FROM")):]
assert final[0].startswith("FROM debian:12-slim"), final[0]
text = "\n".join(final)
assert "USER 10001" in text and "build-essential" not in text and "-dev" not in text, text
PY

# the whole run through tools/k8s-run.sh, with a stand-in kubectl
start_serve || { not_ok "serve starts"; exit 1; }
mkdir -p k8s
cp "$ROOT"/deploy/k8s/* k8s/
sed -i "s|http://target.default.svc.cluster.local:8080|http://127.0.0.1:$SERVE_PORT|" k8s/scenario.json
sed -i 's/^            - 60s$/            - 1s/; s/0.0.0.0:9464/127.0.0.1:0/; s/^            - 30s$/            - 0s/' k8s/job.yaml
mkdir -p bin
cat > bin/kubectl <<'STANDIN'
#!/usr/bin/env python3
# A stand-in for kubectl: kustomize is the real one; apply keeps the manifest; wait runs
# the Job's pods as processes; get and logs answer from them.
import json, os, re, subprocess, sys, yaml
state = os.environ["STANDIN_STATE"]
a = sys.argv[1:]
if a[:1] == ["-n"]:
    a = a[2:]
if a[0] == "kustomize":
    sys.exit(subprocess.run([os.environ["REAL_KUBECTL"], *a]).returncode)
docs = lambda: [d for d in yaml.safe_load_all(open(f"{state}/applied.yaml")) if d]
if a[0] == "delete":
    sys.exit(0)
if a[0] == "apply":
    open(f"{state}/applied.yaml", "w").write(open(a[a.index("-f") + 1]).read())
    sys.exit(0)
if a[0] == "wait":
    d = docs()
    job = next(x for x in d if x["kind"] == "Job")
    cm = next(x for x in d if x["kind"] == "ConfigMap")
    c = job["spec"]["template"]["spec"]["containers"][0]
    for k, v in cm["data"].items():
        open(f"{state}/{k}", "w").write(v)
    procs = []
    for i in range(job["spec"]["completions"]):
        # the downward API's completion index, then $(VAR) as the kubelet expands it
        env = {e["name"]: e["value"] if "value" in e else str(i) for e in c["env"]}
        args = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], x).replace("/etc/ringload", state)
                for x in c["args"]]
        log = open(f"{state}/pod-{i}.log", "w")
        procs.append(subprocess.Popen([os.environ["RINGLOAD"], *args], stdout=log, stderr=subprocess.STDOUT,
                                      env={**os.environ, "JOB_COMPLETION_INDEX": str(i)}))
    sys.exit(max(p.wait() for p in procs))
if a[0] == "get" and a[1] == "job":
    print(next(x for x in docs() if x["kind"] == "Job")["spec"]["completions"], end="")
    sys.exit(0)
if a[0] == "get" and a[1] == "pods":
    n = next(x for x in docs() if x["kind"] == "Job")["spec"]["completions"]
    print("".join(f"ringload-{i}-x {i}\n" for i in range(n)), end="")
    sys.exit(0)
if a[0] == "logs":
    sys.stdout.write(open(f"{state}/pod-{a[1].split('-')[1]}.log").read())
    sys.exit(0)
sys.exit(f"stand-in kubectl: unknown command {a}")
STANDIN
chmod +x bin/kubectl
mkdir -p state
# (the start is whole seconds, so LEAD=5 leaves 4 to 5 s for kustomize, apply and the four
# processes' start: 2 left as little as 1 s, which a busy machine overran, and then the
# late shards started when they came)
PATH="$TEST_TMP/bin:$PATH" REAL_KUBECTL="$(command -v kubectl)" STANDIN_STATE="$TEST_TMP/state" RINGLOAD="$RINGLOAD" \
	K8S_DIR="$TEST_TMP/k8s" LEAD=5 timeout -k 2 60 "$ROOT/tools/k8s-run.sh" "$TEST_TMP/out" 2> run.err
k8s_rc=$?
[ "$k8s_rc" = 0 ] || sed "s/^/# /" run.err state/pod-0.log 2> /dev/null | head -20
check "k8s_run_merges_every_shard (rc $k8s_rc)" test -s out/merged.json -a -s out/report.html
check "k8s_run_shards_one_plan_starts_together" test "$(jget out/merged.json \
	'(len(d["shard"]["shards"]), d["shard"]["count"], max(r["started_at_ms"] for r in d["shard"]["shards"]) - min(r["started_at_ms"] for r in d["shard"]["shards"]) <= 20)')" = "(4, 4, True)"
check "k8s_run_counts_add_up" test "$(python3 -c "
import json
shards = [json.load(open(f'out/shard-{i}.json'))['total']['requests'] for i in range(4)]
print(sum(shards) == json.load(open('out/merged.json'))['total']['requests'] > 0)")" = True
check "k8s_job_left_as_is_refuses_to_start" bash -c "'$RINGLOAD' --start-at SET_BY_K8S_RUN -n 1 http://127.0.0.1:1/ 2>&1 | grep -q -- '--start-at'"
