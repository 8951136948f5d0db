#!/usr/bin/env bash
# Benchmark "modhash kbuild" against the kernel's own tool
# (scripts/modules-merkle-tree) on the real modules of a Debian kernel, on
# the disk a kernel object tree lives on.
#
# 1. Fetches Debian's linux-image-6.1.0-50-amd64 with apt-get download (or the
#    closest 6.1.0-*-amd64 if that one is really not available, after an
#    apt-get update) into a cache directory, extracts it with dpkg-deb and
#    prepares a kbuild object tree from lib/modules/<ver>: every module under
#    kernel/, decompressed if needed, with Debian's PKCS#7 signature stripped
#    once (a module is its first module_size bytes, from modhash inspect
#    -json), and modules.order rewritten to name objects (kernel/.../x.o).
#    The prepared tree is kept in the cache and reused by later runs.
# 2. Builds modhash with the host Go and with Bazel (Go 1.19.13).
# 3. Times, interleaved (every repetition runs every tool once per
#    scenario, in a rotating order) and with a warm page cache:
#      kernel tool      the kernel's scripts/modules-merkle-tree (one core)
#      modhash-go       modhash kbuild built by go build
#      modhash-bazel    modhash kbuild built by Bazel
#      modhash-go -cache=false   the same without the leaf cache
#    in three scenarios, each in its own copy of the object tree (hard
#    links to the same module files):
#      (a) fresh tree: no .merkle file, no leaf cache;
#      (b) the proofs of an earlier run with other modules exist (written by
#          the kernel tool with modules.order reversed: every proof and the
#          root differ, every .merkle file exists);
#      (c) a re-run with nothing changed (right after (a), in its tree).
#    It checks after each run of the first repetition that the .merkle
#    files are byte-identical to the kernel tool's and that root.c holds the
#    same levels and root (the kernel tool's C layout is series v4's).
# 4. Prints the best (fastest) and median time of each, the ratios to the
#    kernel tool and whether the targets are met: (a) and (b) at most 0.5x
#    the kernel tool, (c) at most 0.2x.
#
# The kernel's tool is not part of this repository. Build it from a kernel
# tree that has the series "module: Introduce hash-based integrity checking"
# (scripts/modules-merkle-tree.c, needs libssl-dev):
#     gcc -O2 -o modules-merkle-tree scripts/modules-merkle-tree.c -lcrypto
# (with OpenSSL older than 3.4 add -DEVP_MD_CTX_get_size_ex=EVP_MD_CTX_get_size)
# and pass its path with --kernel-tool PATH or KBUILD_BENCH_KERNEL_TOOL.
#
# Where: the timed trees are made under KBUILD_BENCH_WORKDIR (default: the
# cache directory), which must be on a real disk, not tmpfs: creating four
# thousand files is what differs between the tools, and tmpfs says nothing
# about a disk. KBUILD_BENCH_TMPFS=1 adds the same table on /dev/shm.
# Nothing is deleted before or during the timing: on an ext4 without a
# journal the inode allocator skips, one by one, every inode deleted in the
# last minutes (up to six), so a benchmark that deletes its outputs between
# runs measures its own deletions. The trees are removed at the end, and
# the next run waits until six minutes have passed since (or set
# KBUILD_BENCH_NO_WAIT=1).
#
# A benchmark, not a test: it exits 0 whether the targets are met or not,
# and non-zero only when something fails (download, build, wrong outputs).
#
# usage: tests/bench/kbuild_bench.sh [--kernel-tool PATH] [REPS]
# env:   KBUILD_BENCH_KERNEL_TOOL the kernel's modules-merkle-tree binary
#        KBUILD_BENCH_CACHE      cache directory (default:
#                                ${XDG_CACHE_HOME:-$HOME/.cache}/modhash-bench)
#        KBUILD_BENCH_PACKAGE    kernel package (default linux-image-6.1.0-50-amd64)
#        KBUILD_BENCH_REPS       repetitions (default 5; the argument wins)
#        KBUILD_BENCH_SKIP_BAZEL set to 1 to leave out the Bazel-built binary
#        KBUILD_BENCH_WORKDIR    parent directory of the timed trees (on disk)
#        KBUILD_BENCH_TMPFS      set to 1 to also time on /dev/shm
#        KBUILD_BENCH_NO_WAIT    set to 1 not to wait after an earlier run's cleanup
#        KBUILD_BENCH_KEEP       set to 1 to keep the work directory and trees
#        KBUILD_BENCH_NICE       run the timed commands with nice -n N (e.g. -10
#                                as root, on a machine shared with other work)
#        KBUILD_BENCH_RT         set to 1 to run the timed commands with
#                                chrt -f 1 (root): on a machine busy with other
#                                work, close to what an idle machine gives
#                                (the kernel still leaves others 5% of the CPU)
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }
kernel_tool=${KBUILD_BENCH_KERNEL_TOOL:-}
while (($#)); do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--kernel-tool) kernel_tool=${2:-}; shift 2 ;;
	--kernel-tool=*) kernel_tool=${1#*=}; shift ;;
	*) break ;;
	esac
done

reps=${1:-${KBUILD_BENCH_REPS:-5}}
pkg_wanted=${KBUILD_BENCH_PACKAGE:-linux-image-6.1.0-50-amd64}
cache=${KBUILD_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modhash-bench}
parent=${KBUILD_BENCH_WORKDIR:-}
# Relative directories are taken from the caller's working directory.
[[ "$cache" == /* ]] || cache="$PWD/$cache"
[[ -z "$parent" || "$parent" == /* ]] || parent="$PWD/$parent"
[[ -z "$kernel_tool" || "$kernel_tool" == */* ]] || kernel_tool=$(command -v "$kernel_tool" || echo "$kernel_tool")
[[ -z "$kernel_tool" || "$kernel_tool" == /* ]] || kernel_tool="$PWD/$kernel_tool"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
skip_bazel=${KBUILD_BENCH_SKIP_BAZEL:-0}
expect_modules=4022 # linux-image-6.1.0-50-amd64
expect_mib=375      # its modules without signatures (~390 MB on disk, signed)
settle=360          # seconds ext4 (no journal) treats a deleted inode as recent

log() { printf '%s\n' "kbuild_bench: $*" >&2; }
die() { printf '%s\n' "kbuild_bench: error: $*" >&2; exit 1; }

[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$reps'"
if [[ -z "$kernel_tool" ]]; then
	die "the kernel's tool is needed: build scripts/modules-merkle-tree.c of a kernel tree with the module hashes series (gcc -O2 -o modules-merkle-tree scripts/modules-merkle-tree.c -lcrypto) and pass --kernel-tool PATH or set KBUILD_BENCH_KERNEL_TOOL (see --help)"
fi
[[ -x "$kernel_tool" && -f "$kernel_tool" ]] || die "--kernel-tool $kernel_tool is not an executable file"
for tool in go apt-get apt-cache dpkg-deb jq truncate find xargs awk sort sha256sum cmp cp; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (jq: apt-get install jq)"
done

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
work=$(mktemp -d "$cache/run.XXXXXX")
trees=""
prep=""
stamp="$cache/last-cleanup"
cleanup() {
	local rc=$?
	[[ -z "$prep" ]] || rm -rf "$prep"
	if [[ "${KBUILD_BENCH_KEEP:-0}" == 1 ]]; then
		log "keeping $work${trees:+ and $trees}"
	else
		rm -rf "$work"
		if [[ -n "$trees" ]]; then
			log "removing the timed trees"
			rm -rf $trees
			date +%s >"$stamp"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }

as_root() {
	if [[ "$(id -u)" == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "not root and no sudo: cannot run $*"
	fi
}

# ---------------------------------------------------------------- machine
ncpu=$(nproc)
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[[ -n "$cpu_model" ]] || cpu_model=$(uname -m)
if grep -qw sha_ni /proc/cpuinfo 2>/dev/null; then sha_ni=yes; else sha_ni=no; fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- binaries
bin="$work/bin"
mkdir -p "$bin"
log "building modhash-go: go build ./tools/modhash ($(go env GOVERSION))"
go build -o "$bin/modhash-go" ./tools/modhash
impls=(go)
if [[ "$skip_bazel" == 1 ]]; then
	log "KBUILD_BENCH_SKIP_BAZEL=1: leaving out the Bazel-built modhash"
else
	log "building modhash-bazel: ./bazelw build //tools/modhash"
	if ! ./bazelw build //tools/modhash >"$work/bazel-build.log" 2>&1; then
		tail -n 30 "$work/bazel-build.log" >&2
		die "./bazelw build //tools/modhash failed (output above). Set KBUILD_BENCH_SKIP_BAZEL=1 to benchmark the go-built binary only."
	fi
	# The output path from Bazel itself (Bazel 4 has no --output=files).
	rel=$(./bazelw cquery //tools/modhash --output=starlark \
		--starlark:expr='"\n".join([f.path for f in target.files.to_list()])' 2>/dev/null | grep -m1 . || true)
	execroot=$(./bazelw info execution_root 2>/dev/null || true)
	bazel_bin=""
	if [[ -n "$rel" && -n "$execroot" && -x "$execroot/$rel" ]]; then
		bazel_bin="$execroot/$rel"
	elif [[ -x bazel-bin/tools/modhash/modhash_/modhash ]]; then
		bazel_bin=bazel-bin/tools/modhash/modhash_/modhash
	fi
	[[ -n "$bazel_bin" ]] || die "built //tools/modhash but cannot find the binary (cquery gave '$rel')"
	cp "$bazel_bin" "$bin/modhash-bazel"
	chmod u+w "$bin/modhash-bazel"
	impls+=(bazel)
fi
mh="$bin/modhash-go" # for inspect during preparation
sha_impl() { # binary -> the SHA-256 code merkle/ selects for its Go version
	local v
	v=$(go version "$1" 2>/dev/null | awk '{print $2}')
	case "$v" in
	go1.1[0-9] | go1.1[0-9].* | go1.20 | go1.20.*) echo "$v, minio/sha256-simd" ;;
	"") echo "unknown Go" ;;
	*) echo "$v, crypto/sha256" ;;
	esac
}

# ---------------------------------------------------------------- package
pkg_version() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" {print $2}'; }
pkg=$pkg_wanted
ver=$(pkg_version "$pkg")
if [[ -z "$ver" ]]; then
	log "$pkg unknown to apt-cache: apt-get update"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 ||
		log "apt-get update failed; looking at the lists there are"
	ver=$(pkg_version "$pkg")
fi
if [[ -z "$ver" ]]; then
	if [[ ! "$pkg" =~ ^linux-image-6\.1\.0-([0-9]+)-amd64$ ]]; then
		die "package $pkg not available"
	fi
	want=${BASH_REMATCH[1]}
	# The closest ABI number; the higher one on a tie.
	pkg=$(apt-cache search linux-image-6.1 2>/dev/null |
		awk -v w="$want" '$1 ~ /^linux-image-6\.1\.0-[0-9]+-amd64$/ {
			n = $1; sub(/^linux-image-6\.1\.0-/, "", n); sub(/-amd64$/, "", n)
			d = n - w; if (d < 0) d = -d
			if (best == "" || d < bd || (d == bd && n > bn)) { best = $1; bd = d; bn = n }
		} END { print best }')
	[[ -n "$pkg" ]] || die "$pkg_wanted is not available, and apt-cache search linux-image-6.1 finds no linux-image-6.1.0-*-amd64"
	ver=$(pkg_version "$pkg")
	[[ -n "$ver" ]] || die "$pkg found by apt-cache search but has no candidate version"
	log "NOTE: $pkg_wanted is not available even after apt-get update; using the closest: $pkg $ver"
fi

tree="$cache/trees/${pkg}_${ver}"
if [[ -f "$tree/bench-info" ]]; then
	log "using the prepared object tree $tree"
else
	debs="$cache/debs"
	mkdir -p "$debs"
	find_deb() { # the cached .deb of $pkg $ver, if any
		local f
		for f in "$debs/${pkg}_"*.deb; do
			[[ -f "$f" && "$(dpkg-deb -f "$f" Version 2>/dev/null)" == "$ver" ]] && { echo "$f"; return; }
		done
		return 0
	}
	deb=$(find_deb)
	if [[ -z "$deb" ]]; then
		log "downloading $pkg $ver with apt-get download"
		sandbox=()
		# As root, apt drops to user _apt, who cannot write to a cache under /root.
		[[ "$(id -u)" == 0 ]] && sandbox=(-o APT::Sandbox::User=root)
		(cd "$debs" && apt-get download "${sandbox[@]}" "$pkg=$ver" </dev/null >&2) ||
			die "apt-get download $pkg=$ver failed"
		deb=$(find_deb)
		[[ -n "$deb" ]] || die "apt-get download $pkg=$ver left no .deb in $debs"
	fi
	log "preparing the object tree from $(basename "$deb")"
	mkdir -p "$cache/trees"
	prep=$(mktemp -d "$cache/trees/.prep.XXXXXX")
	dpkg-deb -x "$deb" "$prep/x"
	moddirs=("$prep"/x/lib/modules/*/)
	[[ -d "${moddirs[0]}" && ${#moddirs[@]} == 1 ]] || die "expected one lib/modules/<version> in $deb"
	mdir=${moddirs[0]%/}
	kver=$(basename "$mdir")
	[[ -d "$mdir/kernel" && -f "$mdir/modules.order" ]] || die "$deb has no lib/modules/$kver/kernel or modules.order"
	mkdir "$prep/tree"
	mv "$mdir/kernel" "$prep/tree/kernel"
	cd "$prep/tree"

	# Compressed modules (.ko.xz/.ko.zst/.ko.gz) become plain .ko files.
	ncomp=0
	for ext in xz zst gz; do
		n=$(find kernel -name "*.ko.$ext" | wc -l)
		((n == 0)) && continue
		case $ext in
		xz) dec=(xz -d -q) ;;
		zst) dec=(zstd -d -q --rm) ;;
		gz) dec=(gzip -d -q) ;;
		esac
		command -v "${dec[0]}" >/dev/null || die "$n modules are .ko.$ext but ${dec[0]} is not installed"
		log "decompressing $n .ko.$ext modules"
		find kernel -name "*.ko.$ext" -print0 | xargs -0 -r -P "$ncpu" -n 64 "${dec[@]}"
		ncomp=$((ncomp + n))
	done

	# modules.order lists kernel/.../x.ko (maybe .ko.xz): kbuild wants objects.
	sed -E 's/\.ko(\.(xz|zst|gz))?$/.o/' "$mdir/modules.order" >modules.order
	bad=$(grep -vc '\.o$' modules.order || true)
	((bad == 0)) || die "$bad lines of modules.order do not name a .ko module"
	sed 's/\.o$/.ko/' modules.order >"$prep/listed"
	missing=0
	while IFS= read -r f; do
		[[ -f "$f" ]] || { log "listed but missing: $f"; missing=$((missing + 1)); }
	done <"$prep/listed"
	((missing == 0)) || die "$missing modules in modules.order are not in the package"
	unlisted=$(find kernel -name '*.ko' | sort | comm -13 <(sort "$prep/listed") - | wc -l)
	((unlisted == 0)) || log "NOTE: $unlisted .ko files are not in modules.order and are not hashed"

	# Strip the signatures once, so that kbuild hashes the unsigned modules.
	tr '\n' '\0' <"$prep/listed" | xargs -0 -n 500 "$mh" inspect -json >"$prep/inspect.json"
	jq -r -s 'add | .[] | select((.signature // "none") != "none") | [.signature, (.module_size // 0), .file] | @tsv' \
		"$prep/inspect.json" >"$prep/signed.tsv"
	nsigned=0
	declare -A kinds=()
	while IFS=$'\t' read -r kind size file; do
		case "$kind" in
		PKCS#7 | Merkle) ;;
		*) die "$file: signature '$kind', cannot strip it" ;;
		esac
		((size > 0)) || die "$file: signed but module_size is $size"
		truncate -s "$size" "$file"
		kinds[$kind]=$((${kinds[$kind]:-0} + 1))
		nsigned=$((nsigned + 1))
	done <"$prep/signed.tsv"
	signed_desc="$nsigned of $(wc -l <"$prep/listed")"
	for k in "${!kinds[@]}"; do signed_desc+=", $k: ${kinds[$k]}"; done
	still=$(tr '\n' '\0' <"$prep/listed" | xargs -0 -n 500 "$mh" inspect -json |
		jq -s '[add | .[] | select((.signature // "none") != "none")] | length')
	((still == 0)) || die "$still modules are still signed after stripping"

	nmod=$(wc -l <modules.order)
	bytes=$(tr '\n' '\0' <"$prep/listed" | xargs -0 stat -c %s | awk '{s += $1} END {printf "%d", s}')
	{
		echo "package=$pkg"
		echo "version=$ver"
		echo "kernel=$kver"
		echo "deb=$(basename "$deb")"
		echo "modules=$nmod"
		echo "bytes=$bytes"
		echo "signed=$signed_desc"
		echo "decompressed=$ncomp"
	} >bench-info
	cd "$repo"
	mv "$prep/tree" "$tree"
	rm -rf "$prep"
	prep=""
	log "prepared $tree: $nmod modules, $signed_desc signed (signatures stripped)"
fi

info() { awk -F= -v k="$1" '$1 == k {sub(/^[^=]*=/, ""); print; exit}' "$tree/bench-info"; }
nmod=$(info modules)
bytes=$(info bytes)
kver=$(info kernel)
mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}')
sed 's/\.o$/.ko/' "$tree/modules.order" >"$work/files"

# ---------------------------------------------------------------- tools
# id, label and command line (run in the object tree) of each implementation.
ids=(kt go)
declare -A label=([kt]="kernel tool" [go]="modhash-go" [bazel]="modhash-bazel" [nocache]="modhash-go -cache=false")
if [[ " ${impls[*]} " == *" bazel "* ]]; then ids+=(bazel); fi
ids+=(nocache)
nice_n=${KBUILD_BENCH_NICE:-}
[[ -z "$nice_n" || "$nice_n" =~ ^-?[0-9]+$ ]] || die "KBUILD_BENCH_NICE must be a number, got '$nice_n'"
prio=()
[[ -z "$nice_n" ]] || prio=(nice -n "$nice_n")
rt=${KBUILD_BENCH_RT:-0}
if [[ "$rt" == 1 ]]; then
	command -v chrt >/dev/null || die "KBUILD_BENCH_RT=1 needs chrt (util-linux)"
	chrt -f 1 true 2>/dev/null || die "KBUILD_BENCH_RT=1: chrt -f 1 is not permitted here (root or CAP_SYS_NICE)"
	prio+=(chrt -f 1)
fi
run_impl() { # id
	case "$1" in
	kt) "${prio[@]}" "$kernel_tool" root.c .ko ;;
	go) "${prio[@]}" "$bin/modhash-go" kbuild root.c .ko ;;
	bazel) "${prio[@]}" "$bin/modhash-bazel" kbuild root.c .ko ;;
	nocache) "${prio[@]}" "$bin/modhash-go" kbuild -cache=false root.c .ko ;;
	esac
}

# ---------------------------------------------------------------- checks
# What must be equal to the kernel tool's: every .merkle file byte for
# byte, and the levels and root in root.c (whose C layout differs).
outputs_id() {
	local levels root
	levels=$(sed -n 's/.*\.levels = \([0-9]*\),.*/\1/p' root.c)
	root=$(grep -o '0x[0-9a-f][0-9a-f]' root.c | sed 's/0x//' | tr -d '\n')
	printf 'levels %s root %s proofs ' "$levels" "$root"
	find kernel -name '*.merkle' -printf '%P\n' | sort | tee "$work/proof-list" | wc -l | tr '\n' ' '
	sed 's|^|kernel/|' "$work/proof-list" | xargs -d '\n' cat | sha256sum | cut -c1-64
}
check_tree() { # what; compares the current directory with the reference
	local got leftovers
	got=$(outputs_id)
	[[ "$got" == "$ref_id" ]] || die "$1: outputs differ from the kernel tool's: got '$got', want '$ref_id'"
	leftovers=$(find . -name '.*.modhash-*' ! -name '*.modhash-leaves' | head -n 3)
	[[ -z "$leftovers" ]] || die "$1: left behind: $leftovers"
}

# How busy the machine is without us: other processes distort every number.
cpu_busy_pct() { # over one second, all CPUs
	local a b
	a=$(awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	sleep 1
	b=$(awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ")
		busy = y[1] - x[1]; idle = y[2] - x[2]
		printf "%.0f", (busy + idle > 0) ? 100 * busy / (busy + idle) : 0}'
}
busy_max=0
load_max=0
note_load() {
	local b l
	b=$(cpu_busy_pct)
	((b <= busy_max)) || busy_max=$b
	l=$(cut -d' ' -f1 /proc/loadavg)
	if awk -v l="$l" -v m="$load_max" 'BEGIN {exit !(l > m)}'; then load_max=$l; fi
}

# ---------------------------------------------------------------- timing
fs_type() { df --output=fstype "$1" 2>/dev/null | tail -n 1 || stat -f -c %T "$1"; }
declare -A times=() # "set scenario id" -> " ns ns ..."
ref_id=""

# run_set NAME PARENT: makes a set of trees under PARENT, every one before
# any is timed (nothing is deleted until the end), then times them.
run_set() {
	local set=$1 where=$2 sdir base r id k dir t0 t1 n
	sdir=$(mktemp -d "$where/modhash-kbuild-bench.XXXXXX")
	trees+=" $sdir"
	base="$sdir/base"
	if ! cp -al "$tree" "$base" 2>/dev/null; then
		rm -rf "$base"
		log "$set: copying the modules to $where (another file system)"
		cp -a "$tree" "$base"
	fi
	tac "$base/modules.order" >"$sdir/reversed.order"
	log "$set: making $((2 * reps * ${#ids[@]} + 1)) object trees in $sdir ($(fs_type "$sdir"))"
	mktree() { # dir [earlier]: a copy of base; with "earlier", holding the proofs of the reversed order
		cp -al "$base" "$1"
		[[ "${2:-}" == earlier ]] || return 0
		(
			cd "$1"
			rm modules.order
			cp "$sdir/reversed.order" modules.order
			"$kernel_tool" root.c .ko >/dev/null
			rm modules.order
			cp "$base/modules.order" modules.order
		)
	}
	mktree "$sdir/ref"
	for ((r = 1; r <= reps; r++)); do
		for id in "${ids[@]}"; do
			mktree "$sdir/a-$r-$id"
			mktree "$sdir/b-$r-$id" earlier
		done
	done
	# Warm the page cache (every tree links the same module files), and
	# let the modules' status change times (cp -al changed them) age past
	# the leaf cache's margin, as a kernel's modules are by its next build.
	(cd "$base" && xargs -a "$work/files" -d '\n' cat >/dev/null)
	sleep 3
	# The reference: the kernel tool in a fresh tree, untimed.
	(cd "$sdir/ref" && "$kernel_tool" root.c .ko >/dev/null) || die "the kernel tool failed in $sdir/ref"
	ref_id=$(cd "$sdir/ref" && outputs_id)
	n=$(awk '{print $6}' <<<"$ref_id")
	((n == nmod)) || die "the kernel tool wrote $n .merkle files for $nmod modules"

	timed() { # set scenario id dir
		cd "$4"
		t0=$(now_ns)
		run_impl "$3" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; die "$1 ($2): ${label[$3]} failed in $4"; }
		t1=$(now_ns)
		cd "$repo"
		times["$1 $2 $3"]+=" $((t1 - t0))"
		if ((r == 1)); then (cd "$4" && check_tree "$1 ($2) ${label[$3]}"); fi
	}
	log "$set: timing ${#ids[@]} implementations x 3 scenarios x $reps repetitions"
	for ((r = 1; r <= reps; r++)); do
		note_load
		# A rotating order: no implementation always runs first or last.
		local order=()
		for ((k = 0; k < ${#ids[@]}; k++)); do order+=("${ids[$(((k + r - 1) % ${#ids[@]}))]}"); done
		for id in "${order[@]}"; do
			timed "$set" a "$id" "$sdir/a-$r-$id"
			timed "$set" c "$id" "$sdir/a-$r-$id"
		done
		for id in "${order[@]}"; do
			timed "$set" b "$id" "$sdir/b-$r-$id"
		done
		log "$set: repetition $r/$reps done"
	done
	note_load
	# Every tree at the end (the first repetition was checked after each run).
	for dir in "$sdir"/[ab]-*; do (cd "$dir" && check_tree "$set: $(basename "$dir")"); done
	fstype_of[$set]="$(fs_type "$sdir") in $where"
}
declare -A fstype_of=()

stat_of() { # ns list -> "best median" in seconds
	tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.3f %.3f", a[1] / 1e9, m / 1e9 }'
}

[[ -n "$parent" ]] || parent=$cache
mkdir -p "$parent"
parent=$(cd "$parent" && pwd)
fstype=$(fs_type "$parent")
case "$fstype" in
tmpfs | ramfs) die "KBUILD_BENCH_WORKDIR $parent is on $fstype: time on the disk a kernel tree lives on (KBUILD_BENCH_TMPFS=1 adds a tmpfs table)" ;;
esac
if [[ -f "$stamp" && "${KBUILD_BENCH_NO_WAIT:-0}" != 1 ]]; then
	left=$(($(cat "$stamp") + settle - $(date +%s)))
	if ((left > 0)); then
		log "an earlier run removed its trees $((settle - left)) s ago: waiting $left s until ext4 no longer skips their inodes as recently deleted (KBUILD_BENCH_NO_WAIT=1 does not wait)"
		sleep "$left"
	fi
fi
sets=(disk)
run_set disk "$parent"
if [[ "${KBUILD_BENCH_TMPFS:-0}" == 1 ]]; then
	if [[ -d /dev/shm && "$(fs_type /dev/shm)" == tmpfs ]]; then
		sets+=(tmpfs)
		run_set tmpfs /dev/shm
	else
		log "KBUILD_BENCH_TMPFS=1 but /dev/shm is not a tmpfs: no tmpfs table"
	fi
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
declare -A scen=([a]="(a) fresh tree" [b]="(b) proofs of an earlier run" [c]="(c) re-run, nothing changed")
declare -A target=([a]=0.5 [b]=0.5 [c]=0.2)
echo
echo "== modhash kbuild against the kernel's tool"
echo "machine:  $ncpu CPUs ($cpu_model), sha_ni: $sha_ni, $(uname -r)"
echo "load:     load average $load_start at the start, $load_end at the end (1-min up to $load_max before a repetition); other processes kept up to ${busy_max}% of the CPUs busy"
echo "package:  $(info package) $(info version) ($(info deb)), kernel $kver"
echo "modules:  $nmod modules, $bytes bytes ($mib MiB) unsigned"
echo "tools:    kernel tool $kernel_tool"
echo "          modhash-go ($(sha_impl "$bin/modhash-go"))"
if [[ -x "$bin/modhash-bazel" ]]; then echo "          modhash-bazel ($(sha_impl "$bin/modhash-bazel"))"; fi
echo "method:   best and median of $reps, interleaved, page cache warm, one new object tree per run of (a) and (b)${prio[*]:+, timed commands under ${prio[*]}}"
echo "check:    every .merkle file byte-identical to the kernel tool's, same levels and root in root.c, no temporary file left"
summary=()
for set in "${sets[@]}"; do
	echo
	echo "-- ${fstype_of[$set]}"
	printf '%-32s %-26s %8s %9s %7s %8s\n' scenario implementation "best s" "median s" ratio "(median)"
	for s in a b c; do
		read -r kbest kmed <<<"$(stat_of <<<"${times["$set $s kt"]}")"
		first=1
		for id in "${ids[@]}"; do
			read -r best med <<<"$(stat_of <<<"${times["$set $s $id"]}")"
			ratio="" ratio_med=""
			if [[ "$id" != kt ]]; then
				ratio=$(awk -v a="$best" -v b="$kbest" 'BEGIN {printf "%.2fx", a / b}')
				ratio_med=$(awk -v a="$med" -v b="$kmed" 'BEGIN {printf "(%.2fx)", a / b}')
			fi
			printf '%-32s %-26s %8s %9s %7s %8s\n' "$( ((first)) && echo "${scen[$s]}")" "${label[$id]}" "$best" "$med" "$ratio" "$ratio_med"
			first=0
			if [[ "$set" == disk && ( "$id" == go || "$id" == bazel ) ]]; then
				r=${ratio%x}
				if awk -v r="$r" -v t="${target[$s]}" 'BEGIN {exit !(r <= t)}'; then met=MET; else met="NOT MET"; fi
				summary+=("target $met: ${scen[$s]}: ${label[$id]} ${ratio} of the kernel tool (best of $reps; target <= ${target[$s]}x)")
			fi
		done
	done
	echo "(ratio: best / the kernel tool's best; in parentheses the same for the medians)"
done
echo
printf '%s\n' "${summary[@]}"
if ((busy_max > 10)); then
	echo "WARNING: other processes kept up to ${busy_max}% of the CPUs busy: the times are unreliable; run again when the machine is idle."
fi
awk -v n="$nmod" -v e="$expect_modules" -v m="$mib" -v em="$expect_mib" 'BEGIN {
	if (n < e * 0.9 || n > e * 1.1 || m < em * 0.9 || m > em * 1.1)
		printf "NOTE: %d modules, %s MiB: expected about %d modules and %d MiB (a different package?)\n", n, m, e, em }'
