#!/usr/bin/env bash
# The action behind kernel_module (kernel_module.bzl): `make M=` of one
# external module directory over a kernel build's object tree and the part
# of its source tree such a make reads (kbuild_sources.tar: objtree.sh).
#
#   kernel_module.sh KBUILD_SOURCES OBJTREE_ARCHIVE ARCH CROSS_COMPILE SYMVERS_OUT EXTRA_SYMBOLS(:-separated) SRCS(:-separated) OUT...
set -euo pipefail

sources="$1" archive="$2" arch="$3" cross="$4" symvers_out="$5"
IFS=: read -r -a extra <<<"$6"
IFS=: read -r -a srcs <<<"$7"
shift 7
outs=("$@")
die() { echo "kernel_module: $*" >&2; exit 1; }
# shellcheck source=examples/linux/objtree.sh
source "$(dirname "${BASH_SOURCE[0]}")/objtree.sh"

execroot="$PWD"
work="$(mktemp -d "${TMPDIR:-/tmp}/kernel_module.XXXXXX")"
tree="$(scratch_dir kernel_module)"
trap 'rm -rf "$work" "$tree"' EXIT
restore_kbuild_tree "$execroot/$sources" "$execroot/$archive" "$tree"
src="$tree/src"
# kbuild (6.12) writes an external module's objects next to its sources:
# a private copy, at a path of fixed length under the work directory.
mkdir "$work/m"
for f in "${srcs[@]}"; do cp -L "$execroot/$f" "$work/m/"; done
module_dir="$(dirname "${srcs[0]}")"
extra_abs=()
for s in "${extra[@]}"; do extra_abs+=("$execroot/$s"); done

log="$work/make.log"
cd "$src"
make O="$tree/out" ARCH="$arch" ${cross:+CROSS_COMPILE="$cross"} LOCALVERSION= M="$work/m" \
  KBUILD_EXTRA_SYMBOLS="${extra_abs[*]}" modules >"$log" 2>&1 ||
  { tail -n 40 "$log" >&2; die "make M=$module_dir modules failed"; }
if grep -E 'WARNING: modpost: .*undefined' "$log" >&2; then
  die "modpost: $module_dir uses symbols no kernel build module and no dep exports"
fi
for o in "${outs[@]}"; do
  f="$work/m/$(basename "$o")"
  [[ -f "$f" ]] || die "make M=$module_dir made no $(basename "$o") (it made: $(cd "$work/m" && ls ./*.ko 2>/dev/null | tr '\n' ' '))"
  cp "$f" "$execroot/$o"
done
# Module.symvers of an external build names its module by the build path:
# written relative, so that it is the same from build to build.
sed "s|$work/m/|extra/|g" "$work/m/Module.symvers" >"$execroot/$symvers_out"
