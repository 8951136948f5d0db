#!/usr/bin/env bash
# Benchmark "modhash audit" on a real distribution kernel: Debian's
# linux-image-6.1.0-50-amd64 (6.1.176-1: an xz-compressed x86 bzImage and
# 4022 PKCS#7-signed modules, 390 MB), fetched with apt-get download,
# checked by SHA-256 and extracted with dpkg-deb -x into a cache
# (tests/lib/debian_kernel.sh; nothing is committed).
#
# With a warm page cache (everything read once first), REPS interleaved
# repetitions (default 7) of:
#   sha256sum       sha256sum over the 4022 module files (one process, one core)
#   audit vmlinuz   modhash audit BOOT_IMAGE MODULES_DIR, the whole job:
#                   the bzImage's 8 MB xz payload decompressed (BCJ x86
#                   filter, pure Go, one core) to the 66 MB vmlinux, its
#                   section table read, and the 4022 modules checked
#   audit vmlinux   modhash audit on the vmlinux extracted from the same
#                   bzImage (xz -d, as scripts/extract-vmlinux does): the
#                   module work alone (walking the directory, the 4022
#                   PKCS#7 verdicts against the keyring found in the image:
#                   each module hashed with SHA-256 and its RSA-4096
#                   signature checked; modules.order), without decompression
# and prints the best (fastest) and median of each and their ratios to
# sha256sum. The target (issue 25): the module work at most 1.5x the time
# of sha256sum over the same files.
#
# A benchmark, not a test: it exits 0 whether the target is met or not,
# non-zero only when something fails (download, build, a wrong report).
#
# usage: tests/bench/audit_bench.sh [REPS]
# env:   MODHASH_DEBIAN_KERNEL_CACHE  where the package is kept
#                                     (default ~/.cache/modhash/debian-kernel)
#        AUDIT_BENCH_RT=1             time every command under chrt -f 1 (as
#                                     root): on a machine loaded by other
#                                     builds this gives about the idle figures
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
reps=${1:-7}
name=audit_bench
die() { printf '%s: error: %s\n' "$name" "$*" >&2; exit 1; }
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$reps'"
for tool in go apt-get apt-cache dpkg-deb sha256sum xz od dd find xargs sort; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
# shellcheck source=../lib/debian_kernel.sh
. tests/lib/debian_kernel.sh
debian_kernel_fetch "${MODHASH_DEBIAN_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modhash/debian-kernel}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/modhash-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/modhash" ./tools/modhash

# The vmlinux in the bzImage: the payload the setup header points to
# (payload_offset at 0x248 counts from the protected-mode code, after the
# (setup_sects + 1) * 512 bytes of real-mode setup), decompressed by xz.
u() { od -An -t "u$2" -j "$1" -N "$2" "$debian_vmlinuz" | tr -d ' '; }
setup=$(u $((0x1f1)) 1)
[[ $setup == 0 ]] && setup=4
off=$(( (setup + 1) * 512 + $(u $((0x248)) 4) ))
len=$(u $((0x24c)) 4)
dd if="$debian_vmlinuz" bs=4096 iflag=skip_bytes,count_bytes skip="$off" count="$len" status=none |
	xz -dc --single-stream >"$tmp/vmlinux" || die "could not extract vmlinux from $debian_vmlinuz"

find "$debian_modules" -name '*.ko*' -type f -print0 | sort -z >"$tmp/modules"
count=$(tr -cd '\0' <"$tmp/modules" | wc -c)
[[ $count == "$debian_kernel_modules" ]] || die "$count modules in $debian_modules, want $debian_kernel_modules"
bytes=$(xargs -0 cat <"$tmp/modules" | wc -c)

rt=()
if [[ "${AUDIT_BENCH_RT:-0}" == 1 ]]; then
	command -v chrt >/dev/null 2>&1 || die "AUDIT_BENCH_RT=1 needs chrt (util-linux)"
	rt=(chrt -f 1)
fi
run_sha() { "${rt[@]}" xargs -0 sha256sum <"$tmp/modules" >/dev/null; }
run_vmlinuz() { "${rt[@]}" "$tmp/modhash" audit "$debian_vmlinuz" "$debian_modules" >"$tmp/out.vmlinuz"; }
run_vmlinux() { "${rt[@]}" "$tmp/modhash" audit "$tmp/vmlinux" "$debian_modules" >"$tmp/out.vmlinux"; }

# Warm the page cache, and check the reports once.
run_sha
run_vmlinuz
run_vmlinux
grep -qF "verdicts: $count accepted" "$tmp/out.vmlinuz" || die "unexpected report on $debian_vmlinuz: $(tail -n 6 "$tmp/out.vmlinuz")"
grep -qF "verdicts: $count accepted" "$tmp/out.vmlinux" || die "unexpected report on the extracted vmlinux"

declare -A times=()
timeit() { # name function
	local t0 t1
	t0=$EPOCHREALTIME
	"$2"
	t1=$EPOCHREALTIME
	times[$1]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}') "
}
order=(sha256sum "audit vmlinuz" "audit vmlinux")
fn=([0]=run_sha [1]=run_vmlinuz [2]=run_vmlinux)
for ((r = 0; r < reps; r++)); do
	for ((i = 0; i < 3; i++)); do
		j=$(((i + r) % 3)) # rotate the order
		timeit "${order[$j]}" "${fn[$j]}"
	done
done

stat_of() { # times... -> "best median"
	printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {printf "%s %s", a[1], a[int((NR + 1) / 2)]}'
}
read -r sha_best sha_med <<<"$(stat_of ${times[sha256sum]})"
echo "modhash audit on $debian_kernel_pkg $debian_kernel_ver: $count modules, $((bytes / 1048576)) MiB; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); best and median of $reps, warm page cache${rt:+, under ${rt[*]}}"
printf '%-15s %8s %8s %s\n' "" best median "best / sha256sum"
printf '%-15s %7ss %7ss\n' sha256sum "$sha_best" "$sha_med"
for k in "audit vmlinuz" "audit vmlinux"; do
	read -r best med <<<"$(stat_of ${times[$k]})"
	printf '%-15s %7ss %7ss %s\n' "$k" "$best" "$med" "$(awk -v a="$best" -v b="$sha_best" 'BEGIN{printf "%.2fx", a / b}')"
	[[ $k == "audit vmlinux" ]] && modules_best=$best
done
ratio=$(awk -v a="$modules_best" -v b="$sha_best" 'BEGIN{printf "%.2f", a / b}')
if awk -v r="$ratio" 'BEGIN{exit !(r <= 1.5)}'; then
	echo "target (the module work at most 1.5x sha256sum over the same files): met, ${ratio}x"
else
	echo "target (the module work at most 1.5x sha256sum over the same files): not met, ${ratio}x"
fi
