#!/bin/sh
# Benchmark "modhash patch" against cp on a large kernel-like ELF image.
#
# Builds the tests/elftest fixture ("vmlinux": code, rodata, the 36-byte
# .module_hashes section, data) with the host gcc and links two halves of a
# random blob into it, one in .rodata before .module_hashes and one in .data
# after it, for an image of SIZE_MB megabytes (default 320). Then, REPS times
# (default 11), copies it with cp and patches it with modhash patch, in
# alternating order, and prints the times and their ratio. Caches cannot be
# dropped here, so the image is read right before each command and both run
# warm; a sync before each keeps one command's writeback out of the other's
# time. Single runs vary a lot on a shared VM: compare the medians.
#
# usage: tests/bench/patch_bench.sh [SIZE_MB [REPS]]
# env:   BENCH_DIR   work directory (default: a new one under ${TMPDIR:-/tmp})
#        MODHASH     a modhash binary to use instead of building ./tools/modhash
#        MAX_RATIO   exit 1 if the median ratio patch/cp exceeds it (default:
#                    report only)
set -eu

size_mb=${1:-320}
reps=${2:-11}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/patch_bench.XXXXXX")}
mkdir -p "$work"
if [ -z "${BENCH_DIR:-}" ]; then
	trap 'rm -rf "$work"' EXIT
fi
cd "$work"

now() { date +%s.%N; }

if [ -n "${MODHASH:-}" ]; then
	cp "$MODHASH" "$work/modhash"
else
	echo "building modhash" >&2
	(cd "$repo" && go build -o "$work/modhash" ./tools/modhash)
fi

echo "building a ${size_mb} MB vmlinux in $work" >&2
half=$((size_mb * 1024 * 1024 / 2))
head -c "$half" /dev/urandom >blob_ro.bin
head -c "$half" /dev/urandom >blob_data.bin
ld -r -b binary -o blob_ro.o blob_ro.bin
objcopy --rename-section .data=.rodata.blob,alloc,load,readonly,data,contents blob_ro.o
ld -r -b binary -o blob_data.o blob_data.bin
rm -f blob_ro.bin blob_data.bin

cat >vmlinux.c <<'EOF'
struct module_hashes_root { unsigned int levels; unsigned char hash[32]; };
const struct module_hashes_root module_hashes_root
	__attribute__((section(".module_hashes"), used)) = {0};
const char linux_banner[] = "Linux version 6.99.0-modhash-bench";
int counter = 7;
int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void _start(void) { for (;;) counter = fib(counter) + linux_banner[counter & 15]; }
EOF
# The linker script of the Go fixture (tests/elftest), not a copy.
(cd "$repo" && go run ./tests/elftest/ldscript) >vmlinux.lds
gcc -O2 -ffreestanding -fno-pic -no-pie -fno-stack-protector -nostdlib -static \
	-Wl,-T,vmlinux.lds -Wl,--build-id=none -Wl,-z,noexecstack -o vmlinux vmlinux.c blob_ro.o blob_data.o
rm -f blob_ro.o blob_data.o
readelf -S -W vmlinux | grep -E '\.rodata|\.module_hashes|\.data' >&2

root=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
size=$(stat -c %s vmlinux)
cat vmlinux >/dev/null # warm the page cache

# Check once, untimed: the patched image differs from a copy in exactly
# the section bytes (at most 36 of them).
cp vmlinux out.cp
./modhash patch -o out.patch -levels 12 -root-hex "$root" vmlinux
ndiff=$(cmp -l out.cp out.patch | wc -l)
if [ "$ndiff" -gt 36 ] || [ "$ndiff" -eq 0 ]; then
	echo "patch_bench: patched image differs from the copy in $ndiff bytes" >&2
	exit 1
fi
rm -f out.cp out.patch

cp_times=""
patch_times=""
i=1
while [ "$i" -le "$reps" ]; do
	# Alternate which command goes first.
	order="cp patch"
	if [ $((i % 2)) -eq 0 ]; then
		order="patch cp"
	fi
	for what in $order; do
		# Same state for both: no output file, the input in the page
		# cache (this machine's page cache is small and evicts it), no
		# dirty pages left from the previous command.
		rm -f out
		cat vmlinux >/dev/null
		sync
		t0=$(now)
		if [ "$what" = cp ]; then
			cp vmlinux out
		else
			./modhash patch -o out -levels 12 -root-hex "$root" vmlinux
		fi
		t1=$(now)
		dt=$(echo "$t0 $t1" | awk '{ printf "%.4f", $2 - $1 }')
		if [ "$what" = cp ]; then
			cp_times="$cp_times $dt"
		else
			patch_times="$patch_times $dt"
		fi
	done
	i=$((i + 1))
done
rm -f out

median() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minimum() { echo "$@" | tr ' ' '\n' | grep . | sort -n | head -1; }
cp_med=$(median $cp_times)
patch_med=$(median $patch_times)
cp_min=$(minimum $cp_times)
patch_min=$(minimum $patch_times)
ratio=$(echo "$patch_med $cp_med" | awk '{ printf "%.3f", $1 / $2 }')
ratio_min=$(echo "$patch_min $cp_min" | awk '{ printf "%.3f", $1 / $2 }')

echo
echo "runs (s): cp:$cp_times"
echo "        patch:$patch_times"
echo
printf '%-10s %-5s %-8s %-10s %-10s %s\n' "file size" "reps" "" "cp s" "patch s" "patch/cp"
printf '%-10s %-5s %-8s %-10s %-10s %s\n' "$((size / 1024 / 1024)) MiB" "$reps" median "$cp_med" "$patch_med" "$ratio"
printf '%-10s %-5s %-8s %-10s %-10s %s\n' "" "" minimum "$cp_min" "$patch_min" "$ratio_min"

if [ -n "${MAX_RATIO:-}" ]; then
	if awk -v r="$ratio" -v m="$MAX_RATIO" 'BEGIN { exit !(r > m) }'; then
		echo "patch_bench: ratio $ratio exceeds $MAX_RATIO" >&2
		exit 1
	fi
fi
