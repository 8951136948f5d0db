#!/usr/bin/env bash
# The Make path on the real kernel's object tree (x86_64): what a Make-based
# kernel build gets from modhash equals what the Bazel chain built.
#
#   1. `modhash kbuild -manifest ... -record ... .tmp_module_hashes.c .ko`,
#      run in the object tree (modules.order and the unstripped modules, as
#      the kernel build left them), writes the same proofs, manifest and root
#      record as //examples/linux:x86_64_hashes_unstripped.
#   2. Its root C file, compiled against the patched kernel's
#      include/linux/module_hashes.h with the kernel's own command for the
#      root object (kernel/module/.hashes_root.o.cmd, recorded by kbuild) and
#      dumped with `objcopy --dump-section`, gives the 36 bytes that
#      kbuild -record wrote and the Bazel chain (module_hashes_vmlinux)
#      wrote into vmlinux; and `modhash patch -manifest` of kbuild's
#      manifest gives that very vmlinux.
#
# Usage (from the BUILD file): make_path_test.sh MODHASH OBJTREE_TAR
#   MODULES_ORDER MODULE_HASHES_H VMLINUX MANIFEST ROOT_RECORD PROOF...
# where VMLINUX, MANIFEST, ROOT_RECORD and the proofs are the Bazel chain's
# over the unstripped modules (what kbuild ... .ko hashes).
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
abs() { echo "$PWD/$1"; }
modhash="$(abs "$1")" tar="$(abs "$2")" order="$(abs "$3")"
srctree="$(cd "$(dirname "$(abs "$4")")/../.." && pwd)"
vmlinux="$(abs "$5")" manifest="$(abs "$6")" record="$(abs "$7")"
shift 7
proofs=()
for p in "$@"; do proofs+=("$(abs "$p")"); done

obj="${TEST_TMPDIR:-$(mktemp -d)}/objtree"
rm -rf "$obj"
mkdir -p "$obj"
# The object tree: modules.order and the modules where kbuild put them.
built="$(dirname "$order")"
while IFS= read -r line; do
  mkdir -p "$obj/$(dirname "$line")"
  cp "$built/${line%.o}.ko" "$obj/${line%.o}.ko"
done <"$order"
cp "$order" "$obj/modules.order"
tar -C "$obj" -xf "$tar"
cd "$obj"

echo "== 1. modhash kbuild in the object tree"
"$modhash" kbuild -manifest .tmp_module_hashes.json -record .tmp_module_hashes.bin \
  .tmp_module_hashes.c .ko
n=0
for p in "${proofs[@]}"; do
  stem="$(basename "$p" .merkle)"
  mine="$(grep -E "(^|/)$stem\.o$" modules.order | sed 's/\.o$/.merkle/')"
  [[ -n "$mine" && -f "$mine" ]] || fail "kbuild wrote no proof for $stem"
  cmp "$mine" "$p" || fail "$mine differs from the Bazel chain's $(basename "$p")"
  n=$((n + 1))
done
(( n == $(wc -l <modules.order) )) || fail "$n proofs from Bazel, $(wc -l <modules.order) modules"
cmp .tmp_module_hashes.json "$manifest" || fail "kbuild's manifest differs from the Bazel chain's"
cmp .tmp_module_hashes.bin "$record" || fail "kbuild's root record differs from the Bazel chain's"
echo "   $n proofs, the manifest and the root record equal the Bazel chain's"

echo "== 2. the root C file, compiled with the kernel's flags for the root object"
savedcmd="$(sed -n 's/^savedcmd_kernel\/module\/hashes_root.o := //p' kernel/module/.hashes_root.o.cmd)"
[[ -n "$savedcmd" ]] || fail "no savedcmd in kernel/module/.hashes_root.o.cmd"
# The compile, without what kbuild runs after it on the object (objtool).
cmd="${savedcmd%%;*}"
cmd="${cmd%"${cmd##*[! ]}"}"
cmd="${cmd//@SRCTREE@/$srctree}"
cmd="${cmd//@OBJTREE@/$obj}"
src="$srctree/kernel/module/hashes_root.c"
[[ "$cmd" == *" $src" ]] || fail "the recorded command does not end in $src: $cmd"
cmd="${cmd% "$src"} $obj/.tmp_module_hashes.c"
cmd="${cmd/-o kernel\/module\/hashes_root.o/-o .tmp_module_hashes.o}"
[[ "$cmd" == *"-o .tmp_module_hashes.o"* ]] || fail "no -o kernel/module/hashes_root.o in: $savedcmd"
mkdir -p kernel/module
echo "   $cmd" | cut -c1-200
(cd "$obj" && eval "$cmd") || fail "compiling .tmp_module_hashes.c failed"
objcopy --dump-section .module_hashes=.tmp_compiled.bin .tmp_module_hashes.o .tmp_dump.o
cmp .tmp_compiled.bin .tmp_module_hashes.bin || fail "the compiled root ($(xxd -p .tmp_compiled.bin | tr -d '\n')) differs from kbuild -record"
objcopy --dump-section .module_hashes=.tmp_vmlinux.bin "$vmlinux" .tmp_dump2
cmp .tmp_compiled.bin .tmp_vmlinux.bin || fail "the compiled root differs from the Bazel chain's vmlinux section"
"$modhash" patch -manifest .tmp_module_hashes.json -o .tmp_vmlinux_make "$(dirname "$order")/vmlinux"
cmp .tmp_vmlinux_make "$vmlinux" || fail "modhash patch -manifest of kbuild's manifest differs from the Bazel chain's vmlinux"
echo "   36 bytes $(xxd -p .tmp_compiled.bin | tr -d '\n')"
echo "   = kbuild -record = the Bazel chain's .module_hashes in vmlinux; modhash patch -manifest gives the same vmlinux"
echo PASS
