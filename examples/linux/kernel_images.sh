#!/usr/bin/env bash
# The action behind kernel_images (kernel_images.bzl): the kernel's own make
# over the kernel build's object tree, with another vmlinux in place.
#
#   kernel_images.sh KBUILD_SOURCES OBJTREE_ARCHIVE VMLINUX ARCH CROSS_COMPILE IMAGES(:-separated) OUT...
#
# The restored tree is up to date (objtree.sh); the new vmlinux is the one
# input newer than it, as in the object tree of a kernel build whose
# vmlinux was just rewritten.
set -euo pipefail

sources="$1" archive="$2" vmlinux="$3" arch="$4" cross="$5"
IFS=: read -r -a images <<<"$6"
shift 6
outs=("$@")
die() { echo "kernel_images: $*" >&2; exit 1; }
((${#outs[@]} == ${#images[@]})) || die "${#images[@]} images but ${#outs[@]} outputs"
# shellcheck source=examples/linux/objtree.sh
source "$(dirname "${BASH_SOURCE[0]}")/objtree.sh"

execroot="$PWD"
work="$(scratch_dir kernel_images)"
trap 'rm -rf "$work"' EXIT
restore_kbuild_tree "$execroot/$sources" "$execroot/$archive" "$work"
src="$work/src" obj="$work/out"
cp "$vmlinux" "$obj/vmlinux"
chmod u+w "$obj/vmlinux"
touch "$obj/vmlinux"

goals=()
for i in "${images[@]}"; do goals+=("$(basename "$i")"); done
log="$work/make.log"
cd "$src"
# make in the object tree itself, with --no-print-directory: otherwise the
# top Makefile runs itself again as a sub-make (O=, or to set that flag), to
# which -o is not passed (GNU make passes no -o down), and vmlinux would be
# relinked from scratch.
# -j: the decompressor's misc.o (recompiled: voffset.h is remade from the
# newer vmlinux) builds while the payload is compressed.
make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" -C "$obj" -f "$src/Makefile" ARCH="$arch" ${cross:+CROSS_COMPILE="$cross"} LOCALVERSION= -o vmlinux "${goals[@]}" >"$log" 2>&1 ||
  { tail -n 40 "$log" >&2; die "make -o vmlinux ${goals[*]} failed"; }
# make must have used this vmlinux, not relinked one.
cmp -s "$execroot/$vmlinux" "$obj/vmlinux" || { cat "$log" >&2; die "make rewrote vmlinux: the images would not carry the given one"; }
for i in "${!images[@]}"; do
  [[ -f "$obj/${images[$i]}" ]] || die "make ${goals[$i]} made no ${images[$i]}"
  cp "$obj/${images[$i]}" "$execroot/${outs[$i]}"
done
