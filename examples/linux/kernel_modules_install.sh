#!/usr/bin/env bash
# The action behind kernel_modules_install (kernel_modules_install.bzl):
# installs signed modules as `make modules_install` does, then runs depmod.
#
#   kernel_modules_install.sh OUT KERNEL_RELEASE MODULES_ORDER MODULE...
#
# The MODULEs are in tree order: first the kernel build's, in modules.order
# order (kernel_module_hashes checked it), then the external modules the
# tree also holds, which go under extra/ as kbuild installs them.
set -euo pipefail

out="$1" release_file="$2" order="$3"
shift 3
modules=("$@")
die() { echo "kernel_modules_install: $*" >&2; exit 1; }

release="$(cat "$release_file")"
[[ "$release" =~ ^[A-Za-z0-9._+-]+$ ]] || die "$release_file: not a kernel release: '$release'"
mod_dir="$out/lib/modules/$release"
mkdir -p "$mod_dir"

mapfile -t lines <"$order"
((${#modules[@]} >= ${#lines[@]})) || die "$order lists ${#lines[@]} modules, but ${#modules[@]} were given"
for i in "${!lines[@]}"; do
  path="${lines[$i]%.o}.ko"
  m="${modules[$i]}"
  base="$(basename "$m")"
  suffix="${base#"$(basename "$path")"}" # "" or .xz, .gz, .zst
  [[ "$base" == "$(basename "$path")$suffix" ]] || die "module $i is $m, but $order line $((i + 1)) is ${lines[$i]}: not in modules.order order"
  mkdir -p "$mod_dir/kernel/$(dirname "$path")"
  cp "$m" "$mod_dir/kernel/$path$suffix"
done
# modules_install's modules.order: kernel/<path>.ko (scripts/Makefile.modinst).
sed 's:^\(.*\)\.o$:kernel/\1.ko:' "$order" >"$mod_dir/modules.order"

for m in "${modules[@]:${#lines[@]}}"; do
  mkdir -p "$mod_dir/extra"
  cp "$m" "$mod_dir/extra/$(basename "$m")"
done

# Below OUT only: OUT itself may belong to another user (a remote worker
# makes output directories before the action runs, as its own user).
find "$out" -mindepth 1 -exec chmod u=rwX,go=rX {} +
# depmod reads the modules' dependencies (their undefined symbols against
# the others' exports) and aliases; -b: the tree is under OUT, not /.
depmod -b "$out" "$release" || die "depmod -b $out $release failed"
# What depmod writes is a function of the modules alone; the files get a
# fixed time so that the directory is the same from build to build.
find "$out" -mindepth 1 -exec touch -h -d @0 {} +
