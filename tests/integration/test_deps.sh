#!/usr/bin/env bash
# Every program a test runs comes from the build or test set of tools/install-deps.sh
# (or from a package every Debian system has: Priority required), since CI starts from
# a bare image. The test scripts are read for the words in command position; each one
# that is a program on this machine is traced to its Debian package.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

check "every_test_program_is_installed_by_install_deps" python3 - "$ROOT" <<'PY'
import os, re, shutil, subprocess, sys

root = sys.argv[1]
sets = {}
for line in open(os.path.join(root, "tools/install-deps.sh")):
    m = re.match(r'^(BUILD|TEST)_PKGS="([^"]*)"', line)
    if m:
        sets[m.group(1)] = m.group(2).split()
allowed = set(sets["BUILD"]) | set(sets["TEST"])
# and what they pull in (build-essential brings make, python3 python3-minimal)
deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                       "--no-breaks", "--no-replaces", "--no-enhances", "--installed", *sorted(allowed)],
                      capture_output=True, text=True).stdout
allowed |= {l.strip() for l in deps.splitlines() if l and not l.startswith(" ")}
allowed |= {l.split(":", 1)[1].strip().strip("<>") for l in deps.splitlines() if "Depends:" in l}

scripts = [os.path.join(root, "tests/lib.sh"), os.path.join(root, "tests/run.sh"),
           os.path.join(root, "tests/fuzz/run.sh")]
scripts += [os.path.join(root, "tests/integration", f) for f in sorted(os.listdir(os.path.join(root, "tests/integration")))
            if f.endswith(".sh")]
# a word in command position: at a line's start, after ; | & ( ` $( and the shell's
# keywords, or as timeout's, taskset's or bash -c's command
START = r'(?:^|[;&|(`]|\$\(|\bthen\b|\bdo\b|\belse\b|\bif\b|\bwhile\b|!|bash -c ["\']|timeout(?: -k \d+)? \S+|taskset -c \S+)'
WORD = re.compile(START + r'\s*([a-z][a-z0-9_.+-]*)(?=\s|$|;|\))')
builtins = set(subprocess.run(["bash", "-c", "compgen -b; compgen -k"], capture_output=True, text=True).stdout.split())
words = {}
for path in scripts:
    functions = set()
    heredoc = None
    for line in open(path):
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        m = re.search(r"<<-?\s*'?(\w+)'?", line)
        if m:
            heredoc = m.group(1)
        if line.lstrip().startswith("#"):
            continue
        fm = re.match(r'\s*([a-z_][a-z0-9_]*)\(\)', line)
        if fm:
            functions.add(fm.group(1))
        for w in WORD.findall(line):
            if w not in builtins:
                words.setdefault(w, set()).add(os.path.basename(path))
    for f in functions:
        words.pop(f, None)

def package_of(prog):
    for d in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"):
        p = os.path.join(d, prog)
        if os.path.exists(p):
            for q in (p, os.path.realpath(p)):
                r = subprocess.run(["dpkg", "-S", q], capture_output=True, text=True)
                if r.returncode == 0:
                    return r.stdout.split(":")[0].split(",")[0].strip()
    return None

def required(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Priority} ${Essential}", pkg], capture_output=True, text=True)
    return r.stdout.startswith("required") or "yes" in r.stdout.split()[1:]

# a program the sets provide under another package here: Debian's kubernetes-client
# ships kubectl, and install-deps.sh keeps a kubectl that is already there
ALTERNATIVES = {"kubectl": "kubernetes-client"}
bad = []
for w, where in sorted(words.items()):
    if not shutil.which(w) and not package_of(w):
        continue  # not a program here (a variable's value, a function of lib.sh)
    pkg = package_of(w)
    if pkg is None:
        continue  # built here (build/ringload), or not a Debian file
    pkg = pkg.split(":")[0]
    if pkg in allowed or required(pkg) or ALTERNATIVES.get(w) in allowed:
        continue
    bad.append(f"{w} (package {pkg}, run by {', '.join(sorted(where))})")
if bad:
    print("# not installed by tools/install-deps.sh build or test:", "; ".join(bad))
    sys.exit(1)
PY
