#!/usr/bin/env bash
# Benchmark of remote execution at distribution-kernel scale (issue 24, item
# 4): the synthetic 4022-module chain of tests/bench/bazel_scale_bench.sh
# (tests/scale/scale_bench.py generate: about 390 MB of modules, a
# kernel_module_hashes() over them) built on the Buildbarn cluster of
# tests/remote_exec/cluster.sh (two workers, one runner each), timed
# against the same chain built locally in the same run, on the same
# machine. What it answers: how many remote actions the chain makes, what
# remote execution costs per action against the local build (persistent
# workers, the rules' default), and whether a second output base against
# the same cluster gets every action from the action cache.
#
# In one run, each step in a new output base unless said otherwise (every
# output base starts with a warm-up that is not timed: fetching the
# toolchains and building //tools/modhash and the example's 8-module chain,
# whose vmlinux.unstripped the generated chain patches):
#
#   (a) local: cold build of the chain, no disk or remote cache, persistent
#       workers on (the rules' default)
#   (b) remote: cold build of the chain, --config=remote-exec against the
#       cluster (no disk cache, no local fallback)
#   (c) hits: a third output base against the same cluster: every spawn
#       must be an action cache hit
#   (d) one module's bytes changed, rebuilt remotely (output base of (b))
#   (e) the same change rebuilt locally (output base of (a))
#   (f) mixed: --config=remote-exec plus --config=local-workers (the
#       modhash actions in local persistent workers, the rest remote), cold,
#       in a fourth output base, on variant_1 (the same modules under other
#       output paths, so that no action is a hit from (b))
#
# and prints, per step: wall seconds of the Bazel client, critical path,
# CPU seconds the machine spent meanwhile (all processes), load1 before it, spawns by runner and by mnemonic (from each step's
# execution log), the actions each worker ran (their Prometheus metrics);
# the ratio remote/local; where a remote action's time goes on the workers
# (their per-stage durations), in Bazel (the profile's event sums) and
# which process spent the CPU in (b). The
# outputs of (a), (b) and (c), and after the change of (d) and (e), are
# compared file by file (SHA-256 of every file the chain wrote: leaves,
# tree, root.bin, manifest, signed modules, proofs, patched vmlinux).
#
# It is a benchmark: it exits 0 whether remote execution is fast or slow,
# and non-zero only when something fails: a build, 0 remote actions in (b),
# a spawn that did not run remotely under --config=remote-exec, fewer action
# cache hits than spawns in (c), outputs that differ, a worker that ran
# nothing in (b).
#
# Where the package goes: into a temporary copy of the checkout
# (tests/lib/scratch_builds.sh copy_checkout), at tests/scale/gen there,
# so that it cannot collide with tests/bench/bazel_scale_bench.sh (which
# generates into the working tree) nor be seen by anyone's `bazel build
# //...` in the working tree. The copy, the output bases, the logs and the
# cluster's state are temporary directories, removed at the end (EXIT/INT/
# TERM trap, which also stops the cluster and the Bazel servers by PID)
# unless KEEP_TMP=1; the cluster's logs are kept when the run fails.
#
# Needs root (the cluster's runners run actions as an unprivileged user),
# python3 >= 3.9 and the go command (tests/remote_exec/build_buildbarn.sh
# builds the engine once, then reuses it). Run it alone on the machine
# (flock /work/logs/bench.lock ... here): figures of a shared 2-core
# machine vary with its load; load1 is printed before each step.
#
# Usage: tests/remote_exec/scale_bench.sh
# Environment:
#   SCALE_MODULES       number of modules (default 4022)
#   SCALE_SEED          generator seed (default 61)
#   REMOTE_SCALE_JOBS   --jobs of the remote builds (default 4: the two
#                       workers' two slots, plus two actions in transit)
#   BB_WORKER_CONCURRENCY  actions each worker runs at once (cluster.sh;
#                       default 1, as in remote_exec_test.sh)
#   REMOTE_SCALE_FLAGS  more Bazel flags for the remote steps, after the
#                       script's own (e.g. --strategy=ModuleHashPatch=local
#                       or --remote_executor=grpc://127.0.0.1:1 show the
#                       checks failing)
#   KEEP_TMP=1          keep the temporary directories
set -euo pipefail

readonly name=remote_scale_bench
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib/scratch_builds.sh
source "$here/../lib/scratch_builds.sh"
# shellcheck source=tests/remote_exec/cluster.sh
source "$here/cluster.sh"

nmod=${SCALE_MODULES:-4022}
seed=${SCALE_SEED:-61}
jobs=${REMOTE_SCALE_JOBS:-4}
helper="$repo/tests/scale/scale_bench.py"

# The cluster's state lives apart from $tmp (0700): the runners' user must
# reach its build directories, and nothing else of this run.
state="$(mktemp -d "${TMPDIR:-/tmp}/modhash-buildbarn-scale.XXXXXX")"
finish() {
  cluster_finish "$1" "$name" "$state" "${KEEP_TMP:-}"
  scratch_finish "$1"
}
trap 'finish $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v python3 >/dev/null || die "python3 is needed"
python3 -c 'import random, sys; sys.exit(not hasattr(random.Random(), "randbytes"))' ||
  die "python3 >= 3.9 is needed (random.randbytes)"

now() { date +%s.%N; }
hz=$(getconf CLK_TCK)
# busy_ticks: CPU time the whole machine has spent busy (all CPUs, every
# process: this run's and anyone else's), in clock ticks.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# proc_ticks PID: user + system CPU time of a process (its threads), ticks.
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
load1() { cut -d' ' -f1 /proc/loadavg; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
jget() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# The toolchain the workers offer must be the one the platform names.
want="$(sed -n 's/^ *"modhash-toolchain": "\(.*\)",$/\1/p' "$repo/bazel/BUILD.bazel")"
have="$(cluster_toolchain)"
[[ "$want" == "$have" ]] ||
  die "//bazel:remote_exec names the toolchain '$want', this machine has '$have'"

say "the engine (tests/remote_exec/build_buildbarn.sh)"
bin="$("$here/build_buildbarn.sh")"
echo "Buildbarn binaries: $bin"

src="$tmp/src"
logs="$tmp/logs"
mkdir -p "$logs"
ob_local="$tmp/ob-local"
ob_remote="$tmp/ob-remote"
ob_hits="$tmp/ob-hits"
ob_mixed="$tmp/ob-mixed"
output_bases=("$ob_local" "$ob_remote" "$ob_hits" "$ob_mixed")
src_of=(["$ob_local"]="$src" ["$ob_remote"]="$src" ["$ob_hits"]="$src" ["$ob_mixed"]="$src")

say "a copy of the checkout with $nmod synthetic modules in tests/scale/gen"
copy_checkout "$src"
gen_pkg=tests/scale/gen
t0=$(now)
summary="$(python3 "$helper" generate "$src/$gen_pkg" --modules "$nmod" --seed "$seed" --variants 1)"
gen_s=$(secs "$t0" "$(now)")
total_bytes=$(jget "$summary" total_bytes)
middle=$(jget "$summary" middle_module)
mb=$(awk -v b="$total_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "generated $nmod modules, $mb MB, in $gen_s s"

say "the cluster"
cluster_start "$state" "$bin" || die "the cluster did not start"
url="$cluster_url"

# worker_metric N: the worker's Prometheus metrics.
worker_metric() {
  curl -fsS --max-time 5 "http://127.0.0.1:$((BB_PORT_BASE + 12 + $1))/metrics" 2>/dev/null
}
# worker_actions N: how many actions worker N has run.
worker_actions() {
  worker_metric "$1" |
    awk '/^buildbarn_builder_build_executor_duration_seconds_count\{.*stage="Running"/ { n += $2 } END { print n + 0 }'
}
# worker_stages: "STAGE COUNT SECONDS" per stage of an action on both
# workers (bb_worker's build executor: fetching inputs, running, uploading
# outputs, ...), summed over the workers.
worker_stages() {
  { worker_metric 1 || true; worker_metric 2 || true; } | awk '
    /^buildbarn_builder_build_executor_duration_seconds_(count|sum)\{/ {
      match($0, /stage="[^"]*"/); st = substr($0, RSTART + 7, RLENGTH - 8)
      if ($0 ~ /_count\{/) c[st] += $2; else s[st] += $2
    }
    END { for (st in c) printf "%s %d %.3f\n", st, c[st], s[st] }' | sort
}

chain=("//$gen_pkg:module_hashes" "//$gen_pkg:module_hashes_vmlinux")
tools=(//tools/modhash //examples/minikernel:module_hashes_vmlinux)
common=(--noshow_progress --color=no --curses=no --symlink_prefix=/ --remote_cache=)
local_flags=(--disk_cache=)
read -r -a more_flags <<<"${REMOTE_SCALE_FLAGS:-}"
remote_flags=(--config=remote-exec --remote_executor="$url" --jobs="$jobs" "${more_flags[@]}")

# Rows: label|wall|critical path|load1|spawns|by runner|by mnemonic|worker 1/2
rows=()
declare -A wall=() counts=()

# bazel_step NAME LABEL OB MODE COMMAND [ARGS...]: one Bazel command in
# output base OB, MODE local, remote or mixed (its flags), with an execution log
# and a profile; timed and recorded as a row unless NAME starts with
# "warmup".
bazel_step() {
  local step="$1" label="$2" ob="$3" mode="$4" cmd="$5"
  shift 5
  local flags=("${common[@]}") l t0 t1 rc=0 w1 w2
  case $mode in
  remote) flags+=("${remote_flags[@]}") ;;
  mixed) flags+=("${remote_flags[@]}" --config=local-workers) ;;
  *) flags+=("${local_flags[@]}") ;;
  esac
  [[ $cmd == fetch ]] && flags=(--noshow_progress --color=no --curses=no)
  [[ $cmd == fetch ]] || flags+=(--experimental_execution_log_file="$logs/$step.execlog"
    --profile="$logs/$step.profile.gz" --noslim_profile)
  echo "$name: $label" >&2
  l=$(load1)
  local b0
  b0=$(busy_ticks)
  w1=$(worker_actions 1) w2=$(worker_actions 2)
  t0=$(now)
  bazel_in "$src" "$ob" "$cmd" "${flags[@]}" "$@" >"$logs/$step.out" 2>&1 || rc=$?
  t1=$(now)
  local b1
  b1=$(busy_ticks)
  if [[ $rc -ne 0 ]]; then
    tail -n 40 "$logs/$step.out" >&2
    die "$label failed (bazel $cmd exit $rc); log above"
  fi
  [[ $step == warmup* ]] && return 0
  wall[$step]=$(secs "$t0" "$t1")
  local crit procs c
  crit=$(sed -n 's/.*Critical Path: \([0-9.]*\)s.*/\1/p' "$logs/$step.out" | tail -n 1)
  procs=$(grep -E '^INFO: [0-9]+ processes' "$logs/$step.out" | tail -n 1 || true)
  c=$(python3 "$helper" execlog "$logs/$step.execlog")
  counts[$step]=$c
  echo "$c" >"$logs/$step.counts.json"
  w1=$(($(worker_actions 1) - w1)) w2=$(($(worker_actions 2) - w2))
  rows+=("$label|${wall[$step]}|${crit:--}|$l|$(jget "$c" total)|$(by runners "$c")|$(by mnemonics "$c")|$w1/$w2|$(awk -v a="$b0" -v b="$b1" -v hz="$hz" 'BEGIN { printf "%.0f", (b - a) / hz }')")
  echo "  ${wall[$step]} s; ${procs#INFO: }; workers ran $w1/$w2" >&2
  eval "workers_$step=($w1 $w2)"
}

# by KEY COUNTS: "name N, ..." of a scale_bench.py execlog dictionary,
# largest first (ModuleHash shortened to MH).
by() {
  python3 -c '
import json, sys
m = json.loads(sys.argv[2])[sys.argv[1]]
print(", ".join("%s %d" % (k.replace("ModuleHash", "MH").replace("cache hit (cache hit)", "cache hit"), v) for k, v in sorted(m.items(), key=lambda kv: (-kv[1], kv[0]))) or "-")
' "$1" "$2"
}

# runner_count STEP RUNNER: spawns of STEP whose runner is RUNNER.
runner_count() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["runners"].get(sys.argv[2], 0))' \
    "$logs/$1.counts.json" "$2"
}

# check_remote STEP: every spawn of STEP ran remotely (executed or a hit).
check_remote() {
  python3 - "$logs/$1.counts.json" <<'PY' || die "$1: spawns that did not run remotely under --config=remote-exec (above)"
import json, sys
runners = json.load(open(sys.argv[1]))["runners"]
# Bazel 4.2 names the runner of an action cache hit "remote cache hit".
other = {r: n for r, n in runners.items() if r not in ("remote", "remote cache hit (cache hit)")}
for r, n in sorted(other.items()):
    print("  NOT REMOTE: %d spawns, runner %s" % (n, r), file=sys.stderr)
sys.exit(1 if other else 0)
PY
}

# outputs_sha OB: "sha256  path" of every file the chain's actions wrote in
# OB (the generated package's directory of the target configuration). Not
# the parameter files (*.params): Bazel writes those for the actions it runs
# on this machine (the persistent workers read them), and sends them to
# the engine as inputs without writing them here.
outputs_sha() {
  (cd "$1/execroot/modhash/bazel-out/k8-fastbuild/bin/$gen_pkg" && find . -type f ! -name '*.params' -print0 |
    sort -z | xargs -0 sha256sum)
}

# compare_outputs A B LABEL: the chain's outputs in output bases A and B are
# the same files with the same bytes; prints how many.
compare_outputs() {
  local a="$1" b="$2" label="$3"
  outputs_sha "$a" >"$logs/sha.a"
  outputs_sha "$b" >"$logs/sha.b"
  local n
  n=$(wc -l <"$logs/sha.a")
  if ! cmp -s "$logs/sha.a" "$logs/sha.b"; then
    diff "$logs/sha.a" "$logs/sha.b" | head -n 20 >&2
    die "$label: the outputs differ (first differences above)"
  fi
  ((n > 0)) || die "$label: no outputs to compare"
  echo "$label: $n files identical ($(grep -c '/signed/' "$logs/sha.a") signed modules, root.bin $(awk '/\/root.bin$/ { print substr($1, 1, 16) }' "$logs/sha.a"))"
  echo "$label: $n" >>"$logs/identical"
}

# --------------------------------------------------------------------------
say "warm-up of each output base (not timed)"
# The local output base may take the tools from .bazelrc's disk cache (the
# warm-up is not measured; --disk_cache is not part of the configuration,
# so the analysis stays cached for (a)); the remote ones build them on the
# cluster, then take them from its action cache.
for ob in "$ob_local" "$ob_remote" "$ob_hits" "$ob_mixed"; do
  mode=remote
  [[ $ob == "$ob_local" ]] && mode=local
  bazel_step warmup_fetch "warm-up: fetch (${ob##*/})" "$ob" "$mode" fetch "${tools[@]}"
  if [[ $mode == local ]]; then
    bazel_in "$src" "$ob" build "${common[@]}" "${tools[@]}" >"$logs/warmup_build_local.out" 2>&1 ||
      { tail -n 40 "$logs/warmup_build_local.out" >&2; die "warm-up build (local) failed"; }
  else
    bazel_step warmup_build "warm-up: build the tools (${ob##*/})" "$ob" "$mode" build "${tools[@]}"
  fi
done

say "the timed steps"
bazel_step local "(a) local cold build, workers on" "$ob_local" local build "${chain[@]}"
# CPU of each process of the cluster and of the Bazel server during (b).
cpu_procs() {
  local p
  for p in "${cluster_order[@]}"; do echo "$p $(proc_ticks "${cluster_pids[$p]}")"; done
  echo "bazel-server $(proc_ticks "$(cat "$ob_remote/server/server.pid.txt")")"
}
stages_before="$(worker_stages)"
cpu_before="$(cpu_procs)"
bazel_step remote "(b) remote cold build" "$ob_remote" remote build "${chain[@]}"
cpu_after="$(cpu_procs)"
stages_after="$(worker_stages)"
bazel_step hits "(c) remote, another output base" "$ob_hits" remote build "${chain[@]}"
: >"$logs/identical"
compare_outputs "$ob_local" "$ob_remote" "(a) local vs (b) remote"
compare_outputs "$ob_local" "$ob_hits" "(a) local vs (c) hits"
python3 "$helper" rewrite "$src/$gen_pkg/$middle" --seed "$((seed + 1000))"
bazel_step change_remote "(d) one module changed, remote" "$ob_remote" remote build "${chain[@]}"
bazel_step change_local "(e) one module changed, local" "$ob_local" local build "${chain[@]}"
bazel_step mixed "(f) mixed cold, local workers" "$ob_mixed" mixed build \
  "//$gen_pkg:variant_1" "//$gen_pkg:variant_1_vmlinux"

# --------------------------------------------------------------------------
say "checks"
for step in remote hits change_remote; do check_remote "$step"; done
n_remote=$(runner_count remote remote)
((n_remote > 0)) || die "(b) executed 0 actions remotely"
# shellcheck disable=SC2154 # set by bazel_step through eval
((workers_remote[0] > 0 && workers_remote[1] > 0)) ||
  die "(b) did not use both workers (worker 1 ran ${workers_remote[0]}, worker 2 ${workers_remote[1]})"
n_hits_total=$(jget "${counts[hits]}" total)
n_hits=$(runner_count hits "remote cache hit (cache hit)")
((n_hits_total > 0 && n_hits == n_hits_total)) ||
  die "(c) a second output base got $n_hits action cache hits for $n_hits_total spawns"
n_change=$(runner_count change_remote remote)
((n_change > 0)) || die "(d) one module changed, but nothing ran remotely"
compare_outputs "$ob_local" "$ob_remote" "(e) local vs (d) remote, one module changed"

# --------------------------------------------------------------------------
say "where a remote action's time goes"
echo "bb_worker stages of an action in (b), both workers ($BB_WORKER_CONCURRENCY action(s) at once per worker):"
# Stage counts and seconds during (b): after minus before.
awk 'NR == FNR { c[$1] = $2; s[$1] = $3; next }
  { n = $2 - c[$1]; t = $3 - s[$1]; if (n > 0) printf "  %-22s %6d actions %9.1f s  %8.1f ms mean\n", $1, n, t, t * 1000 / n }' \
  <(echo "$stages_before") <(echo "$stages_after")
echo "CPU seconds of each process during (b) ($(nproc) CPUs: $(awk -v w="${wall[remote]}" -v n="$(nproc)" 'BEGIN { printf "%.0f", n * w }') CPU seconds in its wall time):"
awk -v hz="$hz" 'NR == FNR { c[$1] = $2; next } { printf "  %-14s %7.1f\n", $1, ($2 - c[$1]) / hz }' \
  <(echo "$cpu_before") <(echo "$cpu_after")
# profile_sums FILE TITLE: the profile's events summed by category and name
# (paths and numbers dropped), the 12 largest.
profile_sums() { python3 "$helper" events "$1" --title "$2"; }
profile_sums "$logs/local.profile.gz" "(a) local cold"
profile_sums "$logs/remote.profile.gz" "(b) remote cold"
profile_sums "$logs/hits.profile.gz" "(c) remote, action cache hits"

# --------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
say "figures: $nmod modules, $mb MB, seed $seed; $(nproc) CPUs; remote --jobs=$jobs, $BB_WORKER_CONCURRENCY action(s) at once per worker${REMOTE_SCALE_FLAGS:+, $REMOTE_SCALE_FLAGS}"
printf '%-36s %7s %7s %6s %6s %6s %-9s  %s | %s\n' step "wall s" "crit s" "cpu s" load1 spawns "w1/w2" "by runner" "by mnemonic"
for r in "${rows[@]}"; do
  IFS='|' read -r a b c d e f g h i <<<"$r"
  printf '%-36s %7s %7s %6s %6s %6s %-9s  %s | %s\n' "$a" "$b" "$c" "$i" "$d" "$e" "$h" "$f" "$g"
done
echo
cat "$logs/identical"
echo "remote/local: cold $(ratio "${wall[remote]}" "${wall[local]}"), one-module change $(ratio "${wall[change_remote]}" "${wall[change_local]}"); second output base $(ratio "${wall[hits]}" "${wall[local]}"), mixed $(ratio "${wall[mixed]}" "${wall[local]}") of local cold"
echo "remote scale: $nmod modules, $n_remote actions remote ${wall[remote]} s vs local ${wall[local]} s" \
  "($(ratio "${wall[remote]}" "${wall[local]}")x), second output base $n_hits of $n_hits_total action cache hits ${wall[hits]} s," \
  "workers used: 2 (${workers_remote[0]}/${workers_remote[1]})"
