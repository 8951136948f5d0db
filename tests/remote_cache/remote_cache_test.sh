#!/usr/bin/env bash
# Hermeticity test with a real remote cache (issue 5).
#
# Starts nginx's WebDAV module on 127.0.0.1 as a Bazel HTTP remote cache (a
# backend Bazel's remote caching documentation names), then, in a temporary
# copy of this checkout:
#
#   1. builds the example kernel chain (//examples/minikernel/... plus a
#      generated package with compressed variants) in a fresh output base,
#      uploading every result to the cache;
#   2. builds it again from a second copy at another path, in a second fresh
#      output base: every action of the module hashes rules (mnemonics
#      ModuleHash*: Strip, Leaf, Tree, Sign, Compress, Patch) must be a remote
#      cache hit;
#   3. changes one module's C source and rebuilds in the second output base:
#      exactly that module's compile, strip and leaf actions, every tree,
#      signing and compression and the vmlinux patch must run (each proof
#      depends on every module), and nothing else.
#
# Counts come from Bazel's execution log (--execution_log_json_file).
# Everything (nginx, output bases, copies) lives in one temporary directory,
# removed at the end; the Bazel servers of the temporary output bases are
# shut down. Installs nginx with apt-get when it is missing.
#
# Usage: tests/remote_cache/remote_cache_test.sh
# Environment: KEEP_TMP=1 keeps the temporary directory (for debugging).
set -euo pipefail

readonly name=remote_cache_test
# shellcheck source=tests/lib/scratch_builds.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/scratch_builds.sh"

# The module whose source the incremental step changes (its target name in
# //examples/minikernel and its source there).
readonly changed_module=dummy
readonly changed_source=examples/minikernel/drivers/net/dummy.c

# --------------------------------------------------------------------------
# Cleanup: nginx, then the output bases and the temporary directory

nginx_pid=""

cleanup() {
  local status=$?
  set +e
  if [[ -n "$nginx_pid" ]] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -TERM "$nginx_pid" 2>/dev/null
    local _
    for _ in $(seq 50); do
      kill -0 "$nginx_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$nginx_pid" 2>/dev/null
    wait "$nginx_pid" 2>/dev/null
  fi
  scratch_finish "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------
# nginx with the WebDAV module

find_nginx() {
  local n
  for n in "$(command -v nginx 2>/dev/null || true)" /usr/sbin/nginx; do
    if [[ -n "$n" && -x "$n" ]] && "$n" -V 2>&1 | grep -q -- '--with-http_dav_module'; then
      echo "$n"
      return 0
    fi
  done
  return 1
}

nginx_bin="$(find_nginx || true)"
if [[ -z "$nginx_bin" ]]; then
  say "installing nginx (Debian's package has ngx_http_dav_module built in)"
  command -v apt-get >/dev/null 2>&1 || die "nginx with --with-http_dav_module is missing and apt-get is not available"
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "nginx is missing; not root and no sudo: apt-get install nginx"
    sudo=(sudo -n)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold nginx </dev/null
  nginx_bin="$(find_nginx || true)"
  [[ -n "$nginx_bin" ]] || die "nginx installed, but no nginx with --with-http_dav_module found"
fi


# --------------------------------------------------------------------------
# Execution log analysis

# analyze MODE ARGS: reads execution logs (Bazel 4.2's JSON log is a stream
# of JSON objects, one per spawn, each with "mnemonic", "remotable",
# "remoteCacheHit" and "listedOutputs"), prints a table per build and checks:
#   analyze hits LOG1 LOG2: every ModuleHash* action of build 2 was a
#     remote cache hit, and build 2 had the same actions as build 1;
#   analyze changed LOG1 LOG3 MODULE: in build 3 (MODULE's source changed)
#     ran exactly MODULE's KernelCompile, ModuleHashStrip and ModuleHashLeaf
#     actions and all other ModuleHash* actions of build 1, nothing else, and
#     none of them was a cache hit.
# The actions of the module hashes rules are the mnemonics ModuleHash*
# (rules/private/*.bzl); Strip, Leaf, Tree, Sign and Patch must occur.
analyze() {
  python3 - "$@" <<'EOF'
import json, os, re, sys

RULE = re.compile(r"^ModuleHash")
ORDER = ["ModuleHashStrip", "ModuleHashLeaf", "ModuleHashTree", "ModuleHashProofs", "ModuleHashSign",
         "ModuleHashCompress", "ModuleHashPatch"]
WORKER_MNEMONICS = ["ModuleHashLeaf", "ModuleHashCompress", "ModuleHashTree", "ModuleHashProofs", "ModuleHashSign"]
REQUIRED = ["ModuleHashStrip", "ModuleHashLeaf", "ModuleHashTree", "ModuleHashSign",
            "ModuleHashPatch"]

def spawns(path):
    text = open(path).read()
    dec = json.JSONDecoder()
    i, out = 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        s, i = dec.raw_decode(text, i)
        outs = [o if isinstance(o, str) else o.get("path", "?") for o in s.get("listedOutputs", [])]
        out.append({"m": s.get("mnemonic", "?"), "hit": bool(s.get("remoteCacheHit")),
                    "remotable": bool(s.get("remotable")), "cacheable": bool(s.get("cacheable")),
                    "runner": s.get("runner", ""), "outs": outs or ["-"]})

def table(title, builds):
    names = [n for n, _ in builds]
    seen = {x["m"] for _, b in builds for x in b}
    rule = sorted((m for m in seen if RULE.match(m)), key=lambda m: (m not in ORDER, ORDER.index(m) if m in ORDER else 0, m))
    others = sorted(m for m in seen if not RULE.match(m))
    w = max(len(m) for m in rule + others + ["module hashes rules"]) + 2
    print(title)
    head = "%-*s" % (w, "mnemonic") + "".join("%18s%12s" % (n + ": actions", "cache hits") for n in names)
    print(head)
    print("-" * len(head))
    def line(label, pred):
        cells = ""
        for _, b in builds:
            rows = [x for x in b if pred(x["m"])]
            cells += "%18d%12d" % (len(rows), sum(x["hit"] for x in rows))
        print("%-*s" % (w, label) + cells)
    for m in rule + others:
        line(m, lambda x, m=m: x == m)
    print("-" * len(head))
    line("module hashes rules", lambda x: bool(RULE.match(x)))
    line("other actions", lambda x: not RULE.match(x))
    line("all", lambda x: True)
    print()

def short(p):
    return re.sub(r"^bazel-out/[^/]+/bin/", "", p)

fail = []
mode = sys.argv[1]
if mode == "hits":
    b1, b2 = spawns(sys.argv[2]), spawns(sys.argv[3])
    table("Remote cache hits (build 1: empty cache; build 2: another checkout path, fresh output base)",
          [("build 1", b1), ("build 2", b2)])
    for m in REQUIRED:
        if not any(x["m"] == m for x in b1):
            fail.append("no %s action in build 1" % m)
    r1 = sorted(x["outs"][0] for x in b1 if RULE.match(x["m"]))
    r2 = sorted(x["outs"][0] for x in b2 if RULE.match(x["m"]))
    if r1 != r2:
        fail.append("the module hashes actions of build 2 are not those of build 1")
    for x in b2:
        if RULE.match(x["m"]) and not x["hit"]:
            fail.append("%s %s was no remote cache hit (remotable: %s)" % (x["m"], short(x["outs"][0]), x["remotable"]))
    other = [x for x in b2 if not RULE.match(x["m"])]
    print("other actions (compiles of the tool and the kernel, links, ...) in build 2: "
          "%d of %d were remote cache hits" % (sum(x["hit"] for x in other), len(other)))
    for x in other:
        if not x["hit"]:
            print("  WARNING: no remote cache hit: %s %s" % (x["m"], short(x["outs"][0])))
    # Workers are on (the rules' default): build 1 ran every worker-capable
    # modhash action in the persistent worker, and those actions are still
    # remotable and cacheable (build 2's hits are their uploaded results).
    for m in WORKER_MNEMONICS:
        xs = [x for x in b1 if x["m"] == m]
        runners = sorted({x["runner"] for x in xs})
        print("build 1: %d %s actions, runners %s, all remotable: %s, all cacheable: %s" % (
            len(xs), m, ", ".join(runners) or "-", all(x["remotable"] for x in xs), all(x["cacheable"] for x in xs)))
        if not xs:
            fail.append("no %s action in build 1" % m)
        if runners != ["worker"]:
            fail.append("build 1 ran %s with %s, want the worker only" % (m, runners))
        if not all(x["remotable"] and x["cacheable"] for x in xs):
            fail.append("a %s action of build 1 is not remotable and cacheable" % m)
    if not fail:
        print("OK: all %d module hashes actions of build 2 were remote cache hits" % len(r2))
elif mode == "changed":
    b1, b3, module = spawns(sys.argv[2]), spawns(sys.argv[3]), sys.argv[4]
    table("Actions run after changing the source of %s (build 3, output base 2)" % module,
          [("build 3", b3)])
    print("Actions that ran in build 3 (output; several actions of one kind in one directory on one line):")
    groups = []
    for x in b3:
        key = (x["m"], os.path.dirname(x["outs"][0]), x["hit"])
        if groups and groups[-1][0] == key:
            groups[-1][1].append(x)
        else:
            groups.append((key, [x]))
    for (m, d, hit), xs in groups:
        if len(xs) == 1:
            what = short(xs[0]["outs"][0])
            if len(xs[0]["outs"]) > 1:
                what += " (+%d more outputs)" % (len(xs[0]["outs"]) - 1)
        else:
            what = "%s/* (%d actions)" % (short(d), len(xs))
        print("  %-20s %s%s" % (m, what, "  [cache hit]" if hit else ""))
    print()
    def of_module(x):
        return any(os.path.basename(o) in (module + ".ko", module + ".json") for o in x["outs"])
    want = {}
    for x in b1:
        if x["m"] in ("KernelCompile", "ModuleHashStrip", "ModuleHashLeaf"):
            if of_module(x):
                want.setdefault(x["m"], []).append(x["outs"][0])
        elif RULE.match(x["m"]):
            want.setdefault(x["m"], []).append(x["outs"][0])
    got = {}
    for x in b3:
        got.setdefault(x["m"], []).append(x["outs"][0])
        if x["hit"]:
            fail.append("%s %s was a cache hit" % (x["m"], short(x["outs"][0])))
    for m in sorted(set(want) | set(got)):
        w, g = sorted(want.get(m, [])), sorted(got.get(m, []))
        print("  %-20s expected %3d, ran %3d  %s" % (m, len(w), len(g), "ok" if w == g else "WRONG"))
        for o in sorted(set(g) - set(w)):
            fail.append("%s %s ran, but should not have" % (m, short(o)))
        for o in sorted(set(w) - set(g)):
            fail.append("%s %s did not run" % (m, short(o)))
    for m in ("KernelCompile", "ModuleHashStrip", "ModuleHashLeaf"):
        if not want.get(m):
            fail.append("build 1 has no %s action for module %s" % (m, module))
    if not fail:
        print("OK: exactly %s's compile, strip and leaf actions ran, and every tree, signing, "
              "compression and vmlinux patch (%d actions)" % (module, len(b3)))
for f in fail[:20]:
    print("FAIL: " + f, file=sys.stderr)
if len(fail) > 20:
    print("FAIL: ... and %d more" % (len(fail) - 20), file=sys.stderr)
sys.exit(1 if fail else 0)
EOF
}

# --------------------------------------------------------------------------
# Start nginx

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$tmp/nginx/body" "$tmp/nginx/proxy" "$tmp/nginx/fastcgi" "$tmp/nginx/uwsgi" \
  "$tmp/nginx/scgi" "$tmp/cache"
user_line=""
# As root the workers would run as nobody, which cannot write the cache.
[[ "$(id -u)" == 0 ]] && user_line="user root;"
cat >"$tmp/nginx/nginx.conf" <<EOF
# Bazel HTTP remote cache: GET/HEAD/PUT of /ac/<sha256> and /cas/<sha256>.
$user_line
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log $tmp/nginx/access.log;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $tmp/cache;
    location / {
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 0;
    }
  }
}
EOF
say "starting nginx (WebDAV) on 127.0.0.1:$port"
"$nginx_bin" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" \
  -g 'daemon off;' </dev/null >"$tmp/nginx/stdout.log" 2>&1 &
nginx_pid=$!
python3 - "$port" <<'EOF' || { cat "$tmp/nginx/error.log" "$tmp/nginx/stdout.log" >&2 || true; die "nginx did not serve PUT/GET on 127.0.0.1:$port"; }
import sys, time, urllib.request
url = "http://127.0.0.1:%s/cas/smoke-test" % sys.argv[1]
deadline = time.time() + 20
while True:
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"hello", method="PUT"), timeout=5)
        break
    except Exception as e:
        if time.time() > deadline:
            sys.exit("no PUT: %s" % e)
        time.sleep(0.2)
assert urllib.request.urlopen(url, timeout=5).read() == b"hello"
urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=5)
EOF
echo "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*: //') (pid $nginx_pid) answers PUT, GET and DELETE"

remote=(--config=remote-cache "--remote_cache=http://127.0.0.1:$port" --disk_cache=)
targets=(//examples/minikernel/... //tests/remote_cache/generated/...)

# --------------------------------------------------------------------------
# Two checkouts at different paths

src1="$tmp/a/modhash"
src2="$tmp/b/other-checkout"
copy_checkout "$src1"
copy_checkout "$src2"
[[ -f "$src1/$changed_source" ]] || die "$changed_source not found: adapt changed_source in $0"

ob1="$tmp/ob1"
ob2="$tmp/ob2"
output_bases=("$ob1" "$ob2")
src_of=(["$ob1"]="$src1" ["$ob2"]="$src2")

add_minikernel_compression_packages tests/remote_cache/generated

run_build() {
  local n="$1" src="$2" ob="$3" t0=$SECONDS
  say "build $n: $src, output base $ob"
  bazel_in "$src" "$ob" build "${remote[@]}" --execution_log_json_file="$tmp/log$n.json" \
    --noshow_progress "${targets[@]}" 2>"$tmp/build$n.err" ||
    { tail -n 60 "$tmp/build$n.err" >&2; die "build $n failed"; }
  grep -E '^INFO: (Elapsed|[0-9]+ processes)' "$tmp/build$n.err" || true
  echo "build $n: $((SECONDS - t0))s"
}

run_build 1 "$src1" "$ob1"
# Not needed any more: free the memory of its server.
stop_server "$ob1"
run_build 2 "$src2" "$ob2"

echo
analyze hits "$tmp/log1.json" "$tmp/log2.json" ||
  die "the module hashes actions were not all remote cache hits from another output base"

# --------------------------------------------------------------------------
# Change one module and rebuild in output base 2

say "changing $changed_source (in the second checkout)"
printf '\n/* Added by remote_cache_test.sh: a change of the module'"'"'s code. */\nconst char remote_cache_test_change[] = "changed";\n' \
  >>"$src2/$changed_source"
run_build 3 "$src2" "$ob2"
echo
analyze changed "$tmp/log1.json" "$tmp/log3.json" "$changed_module" ||
  die "after changing $changed_source, other actions than expected ran"

say "nginx served $(grep -c '"GET ' "$tmp/nginx/access.log" || true) GET and $(grep -c '"PUT ' "$tmp/nginx/access.log" || true) PUT requests; cache holds $(find "$tmp/cache" -type f | wc -l) entries ($(du -sh "$tmp/cache" | cut -f1))"
