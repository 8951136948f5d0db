#!/usr/bin/env bash
# Benchmark of the module hashes Bazel rules at distribution-kernel scale.
#
# Generates a Bazel package, //tests/scale/gen, with 4022 synthetic modules
# (drivers/.../modNNNN.ko, log-normal sizes 10 kB .. 1 MB with a mean of
# about 97 kB like Debian 6.1's modules, about 390 MB of pseudo-random bytes,
# fixed seed) and a matching modules.order, and a kernel_module_hashes()
# over them whose vmlinux is //examples/minikernel:vmlinux.unstripped (and
# identical copies variant_N over the same modules). Then, in a temporary
# Bazel output base, it times, in one run, with the persistent worker on
# (the rules' default) and off (--config=no-workers):
#
#   (0) warm-up, not a target: fetching the toolchains (rules_go, the Go SDK;
#       from the shared Go module cache) and building //tools/modhash (in
#       the target and, through the example's 8-module chain, the exec
#       configuration) and the example's vmlinux.unstripped
#   (1) cold build of the chain, workers on: every ModuleHashLeaf (one per
#       batch of 64 modules, the rules' default batch_size), the tree
#       (which also checks the order), the sign batches, the vmlinux patch
#       (target <= 8 s)
#   (2) no-op rebuild, workers on (target <= 0.3 s), and four more without
#       profile or execution log: the median of the five; (2a), (2b) the same
#       with --watchfs --noexperimental_check_output_files, Bazel's options
#       for large trees (the second of two builds timed)
#   (3) and (4): the same for variant_1 with workers off (all modules
#       touched first, so that Bazel digests them again as in (1))
#   (5) rebuild after one module's bytes changed, workers on (target <= 2 s)
#   (6) the same change, variant_1, workers off
#   (7) bazel test of the generated module_hashes_test
#   (8) the same test again (cached)
#
# and counts the executed spawns per mnemonic and runner from each build's
# execution log, checking that (5) and (6) re-ran exactly one leaf batch,
# the tree, the sign batches and the patch, and that the leaves ran in the
# worker with workers on and in the sandbox with workers off.
#
# The floor each build is measured against (issue 27): the time to write
# the files its actions wrote and to hash them once, with nothing else
# (scale_bench.py floor, from the build's execution log, as many threads
# as CPUs). For the cold build: written into a fresh directory on the same
# disk, and every source module hashed once too, which Bazel digests. For
# the one-module change: each output deleted where Bazel keeps it and
# written again there (in place, right after (5)), as Bazel must delete an
# action's old outputs before it runs and the action create them again:
# the same directories, and the file system state closest to the one the
# build met. The last line is
#   cold S s, no-op S s (median of 5 S s; S s with --watchfs), one-module change S s (workers on); cold S s, no-op S s, one-module change S s (workers off)
# When the cold build with workers misses its target (or BENCH_ANALYZE=1),
# it then looks at where the time goes: Bazel's phase summary, per-spawn
# sandbox costs from the profile, the tool's own cost outside Bazel, SHA-256
# of all inputs, and cold runs of more copies of the target (variant_2...)
# under other execution strategies.
#
# Variants: linux-sandbox (the default strategy here, explicit),
# sandbox_base_shm (--sandbox_base=/dev/shm: sandbox trees on tmpfs),
# async_delete (--experimental_sandbox_async_tree_delete_idle_threads),
# processwrapper-sandbox, leaf_local (--strategy=ModuleHashLeaf=local: what
# execution_requirements = {"no-sandbox": "1"} on the leaf actions would
# give), local. (--experimental_reuse_sandbox_directories does not exist in
# Bazel 4.2.3.)
#
# Figures vary a lot on a shared 2-CPU machine: the load1 column is the
# 1-minute load average before each step (this run's own Bazel included);
# compare runs made at a similar load.
#
# It is a benchmark: it prints figures and whether targets were met and
# exits 0 either way; it exits non-zero only when something fails (a build,
# the test, the generator, an unexpected action count in (3)).
#
# Where the package goes, and why: Bazel 4.2 has no way to add a package to
# a workspace from outside it, and .bazelignore'd paths cannot be built at
# all, so the package is generated inside the repository, in the git-ignored
# tests/scale/gen/ (tests/scale/.gitignore), and deleted when the script
# ends (EXIT/INT/TERM trap). Every generated target is tagged "manual", so
# a `bazel build //...` / `bazel test //...` that other people run in this
# working tree meanwhile (or after a kill -9 left the directory behind) never
# builds its 400 MB; its BUILD file is written last and atomically, carries
# "# gazelle:ignore", and is buildifier-clean. A second run refuses to start
# while another one holds the directory.
#
# Bazel state: a new --output_base under a temporary directory (deleted at
# the end after `bazel shutdown`), so the main output base is neither
# disturbed nor used, and the rules' actions start cold; the repository
# cache and the Go module cache are the user's usual shared ones, so "cold"
# does not mean downloading rules_go again. --symlink_prefix=/ keeps the
# bazel-* convenience symlinks of the working tree pointing at the main
# output base. No disk or remote cache is used.
#
# usage: tests/bench/bazel_scale_bench.sh
# env:   SCALE_MODULES   number of modules (default 4022)
#        SCALE_SEED      generator seed (default 61)
#        BENCH_ANALYZE   auto (default: when the cold build with workers
#                        misses its target), 1 (always) or 0 (never)
#        BENCH_VARIANTS  execution strategies compared when analysing
#                        (default: "linux-sandbox sandbox_base_shm
#                        async_delete processwrapper-sandbox leaf_local local")
#        BENCH_KEEP=1    keep the temporary directory (logs, profiles, output
#                        base) instead of deleting it
#        TMPDIR          where the temporary directory goes (default /tmp)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

modules=${SCALE_MODULES:-4022}
seed=${SCALE_SEED:-61}
analyze=${BENCH_ANALYZE:-auto}
variants=${BENCH_VARIANTS:-linux-sandbox sandbox_base_shm async_delete processwrapper-sandbox leaf_local local}
cold_target=8
noop_target=0.3
change_target=2
# The rules' default batch_size and sign_batch_size: modules per
# ModuleHashLeaf and per ModuleHashSign action.
batch=64
leaf_batches=$(((modules + batch - 1) / batch))
sign_batch=2048
sign_batches=$(((modules + sign_batch - 1) / sign_batch))

gen_pkg=tests/scale/gen
gen=$repo/$gen_pkg
helper=$repo/tests/scale/scale_bench.py

die() {
	echo "bazel_scale_bench: $*" >&2
	exit 1
}
now() { date +%s.%N; }
# since T0 [FORMAT]: seconds from T0 (a now) to now, printf FORMAT (%.2f).
since() { awk -v a="$1" -v b="$(now)" -v f="${2:-%.2f}" 'BEGIN { printf f, b - a }'; }
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'; }

command -v python3 >/dev/null || die "python3 is needed"
python3 -c 'import random, sys; sys.exit(not hasattr(random.Random(), "randbytes"))' ||
	die "python3 >= 3.9 is needed (random.randbytes)"

# --- temporary directory, generated package, cleanup -------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bazel_scale_bench.XXXXXX")
ob=$tmp/output_base
logs=$tmp/logs
mkdir -p "$logs"
own_gen=
server=

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [[ -n "$server" ]]; then
		"$repo/bazelw" --output_base="$ob" shutdown >/dev/null 2>&1
	fi
	if [[ -n "$own_gen" ]]; then
		# BUILD file first: a concurrent `bazel query //...` then sees no
		# package rather than a package with files missing.
		rm -f "$gen/BUILD.bazel"
		rm -rf "$gen"
	fi
	if [[ -n "${BENCH_KEEP:-}" ]]; then
		echo "bazel_scale_bench: kept $tmp" >&2
	else
		chmod -R u+w "$tmp" 2>/dev/null
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The file system the outputs go to. On ext4 without a journal, creating a
# file soon after thousands were deleted is slow: the inode allocator skips
# every inode freed in the last minute (six while its inode table block is
# dirty), one buffer lookup each, from the start of the group
# (docs/kbuild-performance.md, "ext4 without a journal"). A one-module
# change, where Bazel deletes the 4022 signed modules and the sign action
# creates them again, can pay that many times over; so can the floors.
describe_fs() {
	local src fstype dev journal=
	read -r src fstype < <(findmnt -n -o SOURCE,FSTYPE --target "$1" 2>/dev/null) || {
		echo "unknown"
		return
	}
	dev=${src##*/}
	if [[ $fstype == ext4 ]]; then
		if compgen -G "/proc/fs/jbd2/$dev-*" >/dev/null; then
			journal=", with a journal"
		else
			journal=", WITHOUT a journal (file creation after mass deletion is slow here: see docs/performance.md)"
		fi
	fi
	echo "$fstype ($src)$journal"
}
fs_desc=$(describe_fs "$tmp")

mkdir -p "$(dirname "$gen")"
if ! mkdir "$gen" 2>/dev/null; then
	other=$(cat "$gen/.bench.pid" 2>/dev/null || true)
	if [[ -n "$other" ]] && kill -0 "$other" 2>/dev/null &&
		grep -q bazel_scale_bench "/proc/$other/cmdline" 2>/dev/null; then
		die "$gen_pkg is in use by another run (pid $other)"
	fi
	echo "bazel_scale_bench: removing $gen_pkg left behind by an earlier run" >&2
	rm -f "$gen/BUILD.bazel"
	rm -rf "$gen"
	mkdir "$gen"
fi
own_gen=1
echo $$ >"$gen/.bench.pid"

nvariants=0
for v in $variants; do nvariants=$((nvariants + 1)); done

echo "bazel_scale_bench: generating $modules modules in $gen_pkg" >&2
t0=$(now)
summary=$(python3 "$helper" generate "$gen" --modules "$modules" --seed "$seed" --variants "$((nvariants + 1))")
gen_s=$(since "$t0" %.1f)
jget() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
total_bytes=$(jget "$summary" total_bytes)
middle=$(jget "$summary" middle_module)

# --- Bazel -----------------------------------------------------------------

# Same startup options for every command, so one server serves them all; it
# exits by itself if this script dies without shutting it down.
bz() { "$repo/bazelw" --output_base="$ob" --max_idle_secs=900 "$@"; }
build_opts=(
	--symlink_prefix=/
	--noshow_progress
	--color=no
	--curses=no
	--disk_cache=
	--remote_cache=
)

# Result rows: name|wall|critical path|load before|spawns|by mnemonic
rows=()
declare -A wall crit spawns mnem

# run_step NAME LABEL COMMAND [ARGS...]: times one Bazel command with an
# execution log and a profile, records its row.
run_step() {
	local name=$1 label=$2 cmd=$3
	shift 3
	local out=$logs/$name.out l t0 t1 rc=0
	l=$(load1)
	echo "bazel_scale_bench: $label" >&2
	local opts=(--profile="$logs/$name.profile.gz" --noslim_profile)
	if [[ $cmd == fetch ]]; then
		opts+=(--noshow_progress --color=no --curses=no)
	else
		opts+=("${build_opts[@]}" --experimental_execution_log_file="$logs/$name.execlog")
	fi
	server=1
	t0=$(now)
	bz "$cmd" "${opts[@]}" "$@" >"$out" 2>&1 || rc=$?
	t1=$(now)
	if [[ $rc -ne 0 ]]; then
		tail -n 40 "$out" >&2
		die "$label failed (bazel $cmd exit $rc); log above"
	fi
	wall[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	crit[$name]=$(sed -n 's/.*Critical Path: \([0-9.]*\)s.*/\1/p' "$out" | tail -n 1)
	local counts='{"total": "-", "mnemonics": {}, "runners": {}}'
	if [[ -f "$logs/$name.execlog" ]]; then
		counts=$(python3 "$helper" execlog "$logs/$name.execlog")
	fi
	spawns[$name]=$(jget "$counts" total)
	mnem[$name]=$(python3 -c '
import json, sys
m = json.loads(sys.argv[1])["mnemonics"]
print(", ".join("%s %d" % (k.replace("ModuleHash", ""), v) for k, v in sorted(m.items(), key=lambda kv: (-kv[1], kv[0]))) or "-")
' "$counts")
	echo "$counts" >"$logs/$name.counts.json"
	rows+=("$label|${wall[$name]}|${crit[$name]:--}|$l|${spawns[$name]}|${mnem[$name]}")
}

count_of() { # count_of STEP MNEMONIC
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mnemonics"].get(sys.argv[2], 0))' \
		"$logs/$1.counts.json" "$2"
}

print_rows() {
	printf '%-40s %8s %8s %6s %7s  %s\n' "step" "wall s" "crit s" "load1" "spawns" "spawns by mnemonic"
	local r a b c d e f
	for r in "$@"; do
		IFS='|' read -r a b c d e f <<<"$r"
		printf '%-40s %8s %8s %6s %7s  %s\n' "$a" "$b" "$c" "$d" "$e" "$f"
	done
}

root=//$gen_pkg:module_hashes
chain=("$root" "${root}_vmlinux")
# The warm-up builds modhash in both configurations the benchmark uses: the
# exec one (the rules' actions), through the example's small chain, which
# also builds the vmlinux.unstripped reused here, and the target one (what
# module_hashes_test runs).
tools=(//tools/modhash //examples/minikernel:module_hashes_vmlinux)

run_step fetch "(0a) fetch toolchains (warm-up)" fetch "${tools[@]}"
run_step warmup "(0b) build modhash, example (warm-up)" build "${tools[@]}"

# Workers on: the rules' default (the leaf and compress actions declare
# supports-multiplex-workers). Workers off: --config=no-workers from the
# repository's .bazelrc, the documented switch. Both targets hash the same
# module files; variant_1's actions are all new in its cold build. The
# modules are touched before it so that Bazel digests every source module
# again, as in the first cold build.
off_root=//$gen_pkg:variant_1
off_chain=("$off_root" "${off_root}_vmlinux")
run_step cold_on "(1) cold build, $modules modules, workers on" build \
	--experimental_profile_additional_tasks=vfs_md5 "${chain[@]}"
run_step noop_on "(2) no-op rebuild, workers on" build "${chain[@]}"
# One no-op is a noisy sample (0.26-0.48 s on this project's machine):
# four more, the same but without profile or execution log, and the median
# of the five is the figure.
noop_times=("${wall[noop_on]}")
for _ in 1 2 3 4; do
	t0=$(now)
	bz build "${build_opts[@]}" "${chain[@]}" >/dev/null 2>&1 || die "a no-op rebuild failed"
	noop_times+=("$(since "$t0")")
done
noop_median=$(printf '%s\n' "${noop_times[@]}" | sort -n | sed -n 3p)
# The same with Bazel's options for large source trees: file system events
# instead of a stat of every source file (--watchfs), and no stat of every
# output file (--noexperimental_check_output_files). The first build with
# them starts watching; the second is timed.
watch=(--watchfs --noexperimental_check_output_files)
run_step noop_watch0 "(2a) no-op, --watchfs etc. (first)" build "${watch[@]}" "${chain[@]}"
run_step noop_watch "(2b) no-op, --watchfs etc. (second)" build "${watch[@]}" "${chain[@]}"
(cd "$gen" && sed 's/\.o$/.ko/' modules.order | xargs touch)
run_step cold_off "(3) cold build, $modules modules, workers off" build --config=no-workers \
	--experimental_profile_additional_tasks=vfs_md5 "${off_chain[@]}"
run_step noop_off "(4) no-op rebuild, workers off" build --config=no-workers "${off_chain[@]}"
python3 "$helper" rewrite "$gen/$middle" --seed "$((seed + 1000))"
run_step change_on "(5) one module changed, workers on" build "${chain[@]}"
# (5)'s floor, right after it, in the file system state closest to the one
# it met: (5) replaced outputs that existed, and Bazel deleted them first,
# so the floor deletes each where it is and writes it again there. The
# same bytes: only their inodes change, so (7) digests them again but
# re-runs nothing.
execroot=$(bz info execution_root 2>/dev/null)
floor_change=$(python3 "$helper" floor "$logs/change_on.execlog" "$execroot" --in-place)
run_step change_off "(6) one module changed, workers off" build --config=no-workers "${off_chain[@]}"
run_step test "(7) bazel test module_hashes_test" test "${root}_test"
run_step test_cached "(8) bazel test again (cached)" test "${root}_test"
# (1)'s floor: what it wrote, written into a fresh directory and hashed
# once outside Bazel, and every source module hashed once.
(cd "$gen" && sed 's/\.o$/.ko/' modules.order | sed "s|^|$gen/|") >"$tmp/sources.list"
floor_cold=$(python3 "$helper" floor "$logs/cold_on.execlog" "$execroot" "$tmp/floor_cold" --inputs "$tmp/sources.list")

# (5) and (6) must each have re-run exactly: its leaf batch, the tree, the
# sign batches and the patch; nothing else. The cold builds ran every leaf
# batch, through the worker with workers on and in the sandbox with workers
# off.
counts_ok=yes
# Every sign batch re-runs: every proof changes with any module.
change_expect="Leaf 1, Tree 1, Sign $sign_batches, Patch 1"
for step in change_on change_off; do
	for m in ModuleHashLeaf ModuleHashTree ModuleHashPatch; do
		[[ "$(count_of $step "$m")" == 1 ]] || counts_ok=no
	done
	[[ "$(count_of $step ModuleHashSign)" == "$sign_batches" ]] || counts_ok=no
	[[ $((spawns[$step] - 3 - sign_batches)) -eq 0 ]] || counts_ok=no
done
for step in cold_on cold_off; do
	[[ "$(count_of $step ModuleHashLeaf)" == "$leaf_batches" ]] || counts_ok=no
done
leaf_runner() { # leaf_runner STEP: "runner N, ..." of its ModuleHashLeaf spawns
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["runners_by_mnemonic"].get("ModuleHashLeaf", {}); print(", ".join("%s %d" % kv for kv in sorted(r.items())) or "-")' \
		"$logs/$1.counts.json"
}
runners_ok=yes
[[ "$(leaf_runner cold_on)" == "worker $leaf_batches" && "$(leaf_runner change_on)" == "worker 1" ]] || runners_ok=no
[[ "$(leaf_runner cold_off)" != *worker* && "$(leaf_runner change_off)" != *worker* ]] || runners_ok=no

mb=$(awk -v b="$total_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
mean_kb=$(awk -v b="$total_bytes" -v n="$modules" 'BEGIN { printf "%.1f", b / n / 1e3 }')
met() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "MISSED" }'; }
s1() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
s2() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }

echo
echo "=== bazel_scale_bench: $modules modules, $mb MB (mean $mean_kb kB, median $(jget "$summary" median_bytes) B," \
	"min $(jget "$summary" min_bytes) B, max $(jget "$summary" max_bytes) B), seed $seed;" \
	"$(nproc) CPUs; Bazel $(dpkg-query -W -f '${Version}' bazel-bootstrap 2>/dev/null || echo '?')"
echo "generated in ${gen_s} s; timings are wall clock of the bazel client, exec log + profile on"
echo "output base on: $fs_desc"
echo
print_rows "${rows[@]}"
echo
echo "leaf runners: cold on: $(leaf_runner cold_on); cold off: $(leaf_runner cold_off);" \
	"change on: $(leaf_runner change_on); change off: $(leaf_runner change_off): $([[ $runners_ok == yes ]] && echo as expected || echo UNEXPECTED)"
for w in on off; do
	if [[ $w == on ]]; then
		echo "no-op, workers on, five runs: ${noop_times[*]} s; median $noop_median s (<= $noop_target s): $(met "$noop_median" "$noop_target")"
	fi
	echo "workers $w: cold ${wall[cold_$w]} s (target <= $cold_target s): $(met "${wall[cold_$w]}" "$cold_target");" \
		"no-op ${wall[noop_$w]} s (<= $noop_target s): $(met "${wall[noop_$w]}" "$noop_target");" \
		"one change ${wall[change_$w]} s (<= $change_target s): $(met "${wall[change_$w]}" "$change_target"), re-ran ${mnem[change_$w]}"
done
echo "one-module change re-runs (want $change_expect): $([[ $counts_ok == yes ]] && echo as expected || echo UNEXPECTED)"
echo "no-op with ${watch[*]}: ${wall[noop_watch]} s (<= $noop_target s): $(met "${wall[noop_watch]}" "$noop_target")"
floor_line() { # floor_line LABEL JSON WALL
	python3 -c '
import json, sys
f = json.loads(sys.argv[2]); wall = float(sys.argv[3])
extra = " + hashing %d source files (%.1f MB) %.2f s" % (f["inputs"], f["input_bytes"] / 1e6, f["inputs_s"]) if f["inputs"] else ""
verb = "deleting and writing again in place" if f.get("in_place") else "writing"
print("floor of %s: %s its %d output files (%.1f MB) %.2f s + hashing them %.2f s%s = %.2f s; Bazel took %.2f s, %.1fx the floor, %.2f s above it" % (
    sys.argv[1], verb, f["files"], f["bytes"] / 1e6, f["write_s"], f["hash_s"], extra, f["floor_s"], wall, wall / f["floor_s"], wall - f["floor_s"]))
' "$@"
}
# The floors, and where (5)'s time went (Bazel's profile): what is left
# between them.
floors() {
	floor_line "(1) cold build" "$floor_cold" "${wall[cold_on]}"
	floor_line "(5) one module changed" "$floor_change" "${wall[change_on]}"
	python3 "$helper" critical "$logs/change_on.profile.gz" --title "(5) one module changed, Bazel's profile"
}
floors

# --- where the time goes ----------------------------------------------------

do_analyze=0
case "$analyze" in
1) do_analyze=1 ;;
0) ;;
*) if [[ "$(met "${wall[cold_on]}" "$cold_target")" != met ]]; then do_analyze=1; fi ;;
esac

if [[ $do_analyze == 1 ]]; then
	echo
	echo "=== analysis (BENCH_ANALYZE=$analyze)"
	echo
	echo "--- bazel analyze-profile of (1), phases and critical path"
	bz analyze-profile "$logs/cold_on.profile.gz" 2>/dev/null |
		grep -E '^(Total .*phase time|Total run time|Critical path|  +[0-9.]+ m?s )' | head -n 20 || true
	echo
	echo "--- per-event sums of the profiles (one spawn = one action here)"
	python3 "$helper" profile "$logs/cold_on.profile.gz" --title "(1) cold build, workers on"
	python3 "$helper" profile "$logs/cold_off.profile.gz" --title "(3) cold build, workers off"
	python3 "$helper" profile "$logs/change_on.profile.gz" --title "(5) one module changed, workers on"
	python3 "$helper" profile "$logs/test.profile.gz" --title "(7) bazel test"

	echo
	echo "--- the same work outside Bazel (same modhash binary, 2 parallel processes)"
	# The exec-configuration binary the leaf actions ran.
	modhash=$(find "$ob/execroot" -path '*-exec-*/bin/tools/modhash/modhash_/modhash' -type f 2>/dev/null | head -n 1 || true)
	floor=$tmp/floor
	mkdir -p "$floor"
	(cd "$gen" && sed 's/\.o$/.ko/' modules.order) >"$tmp/modules.list"
	cp "$tmp/modules.list" "$floor/list"
	t0=$(now)
	(cd "$gen" && xargs cat <"$floor/list") | sha256sum >/dev/null
	sha1=$(since "$t0")
	t0=$(now)
	(cd "$gen" && xargs -P 2 -n 200 sha256sum <"$floor/list" >/dev/null)
	sha2=$(since "$t0")
	echo "sha256sum of all $mb MB: $sha1 s on 1 core, $sha2 s on 2 cores (Bazel digests every input once; outputs of the sign batch again)"
	if [[ -n "$modhash" ]]; then
		# One `modhash leaf -pos FIRST MODULE=OUT=NAME...` process per
		# batch of $batch modules, two at a time, as the leaf actions run
		# it (minus the persistent worker).
		awk -v b="$batch" -v d="$floor" '{
			n = NR - 1
			if (n % b == 0) printf "%s%d", (n ? "\n" : ""), n
			base = $0; sub(/.*\//, "", base); sub(/\.ko$/, "", base)
			printf " %s=%s/%s.json=%s", $0, d, base, $0
		} END { print "" }' "$floor/list" >"$floor/batches"
		t0=$(now)
		# shellcheck disable=SC2016 # $0 and $@ are sh -c's arguments
		(cd "$gen" && xargs -L 1 -P 2 sh -c 'exec "$0" leaf -pos "$@"' "$modhash" <"$floor/batches")
		leaf_s=$(since "$t0")
		echo "$leaf_batches modhash leaf -pos processes of $batch modules: $leaf_s s: the floor of the leaf actions without Bazel"
	fi
	rm -rf "$floor"

	# Bazel's own digest cost: new mtimes, same bytes. Bazel re-digests
	# every module (its digest cache is keyed by inode and times), finds
	# them unchanged and runs nothing.
	(cd "$gen" && xargs touch <"$tmp/modules.list")
	run_step touch_all "touch all modules, rebuild" build "${chain[@]}"
	echo "re-digesting all $mb MB of modules in Bazel (rebuild after touch, ${spawns[touch_all]} spawns): ${wall[touch_all]} s"

	echo
	echo "--- cold runs of identical copies of the target under other execution options"
	echo "(variant_N: same modules, other outputs; sources already digested, analysis cached by type)"
	vrows=()
	i=0
	for v in $variants; do
		i=$((i + 1))
		flags=()
		case "$v" in
		linux-sandbox) flags=(--spawn_strategy=linux-sandbox) ;;
		sandbox_base_shm)
			if [[ ! -d /dev/shm || ! -w /dev/shm ]]; then
				echo "skipping $v: no writable /dev/shm"
				continue
			fi
			flags=(--spawn_strategy=linux-sandbox --sandbox_base=/dev/shm)
			;;
		async_delete) flags=(--spawn_strategy=linux-sandbox --experimental_sandbox_async_tree_delete_idle_threads=HOST_CPUS) ;;
		processwrapper-sandbox) flags=(--spawn_strategy=processwrapper-sandbox) ;;
		leaf_local) flags=(--strategy=ModuleHashLeaf=local) ;;
		local) flags=(--spawn_strategy=local) ;;
		*) die "unknown BENCH_VARIANTS entry $v" ;;
		esac
		vt=//$gen_pkg:variant_$((i + 1))
		run_step "variant_$i" "$v" build "${flags[@]}" "$vt" "${vt}_vmlinux"
		vrows+=("${rows[-1]}")
		python3 "$helper" profile "$logs/variant_$i.profile.gz" --title "$v (${flags[*]})" >"$logs/variant_$i.profile.txt"
	done
	echo
	print_rows "${vrows[@]}"
	base=
	for r in "${vrows[@]}"; do
		[[ ${r%%|*} == linux-sandbox ]] && base=$(cut -d'|' -f2 <<<"$r")
	done
	if [[ -n "$base" ]]; then
		for r in "${vrows[@]}"; do
			IFS='|' read -r a b _ <<<"$r"
			awk -v n="$a" -v t="$b" -v base="$base" -v target="$cold_target" \
				'BEGIN { printf "  %-24s %7.1f s  %5.2fx the linux-sandbox run%s\n", n, t, base / t, t <= target ? "  (within the cold target)" : "" }'
		done
	fi
	echo
	for ((j = 1; j <= i; j++)); do
		[[ -f "$logs/variant_$j.profile.txt" ]] && cat "$logs/variant_$j.profile.txt"
	done
fi

echo
echo "=== summary (repeated)"
echo "$modules modules, $mb MB; load1 before each step in the table; output base on $fs_desc"
print_rows "${rows[@]:0:12}"
if [[ $counts_ok != yes || $runners_ok != yes ]]; then
	die "unexpected actions: one change on ${mnem[change_on]}, off ${mnem[change_off]}; leaf runners cold on $(leaf_runner cold_on), cold off $(leaf_runner cold_off)"
fi
floors
echo "cold $(s1 "${wall[cold_on]}") s, no-op $(s2 "${wall[noop_on]}") s (median of 5 $(s2 "$noop_median") s; $(s2 "${wall[noop_watch]}") s with --watchfs), one-module change $(s1 "${wall[change_on]}") s (workers on);" \
	"cold $(s1 "${wall[cold_off]}") s, no-op $(s2 "${wall[noop_off]}") s, one-module change $(s1 "${wall[change_off]}") s (workers off)"
exit 0
