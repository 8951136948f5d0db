#!/usr/bin/env bash
# The action behind kernel_build (kernel_build.bzl): one run of the kernel's
# own make for one architecture, out of tree in a private object tree.
#
#   kernel_build.sh SRC_MAKEFILE OUT_DIR ARCH CROSS_COMPILE DEFCONFIG \
#       FRAGMENTS(:-separated) OUTS(:-separated, objtree paths) \
#       MODULE_OUTS(:-separated) MAKE_GOALS(:-separated) \
#       [ARCHIVE ARCHIVE_PATHS(:-separated)]
#
# With ARCHIVE, the object-tree paths ARCHIVE_PATHS (files or directories)
# also go into the tar file ARCHIVE, for checks that need the kernel's
# generated headers or recorded commands (.<object>.cmd) after the build:
# the absolute source and object tree paths in them read @SRCTREE@ and
# @OBJTREE@, so that the archive is the same from build to build.
#
# Every option of the fragments must take effect (Kconfig
# drops an option whose dependencies are missing without a word), and
# modules.order must name exactly the declared modules.
set -euo pipefail

src_makefile="$1" out_dir="$2" arch="$3" cross="$4" defconfig="$5"
IFS=: read -r -a fragments <<<"$6"
IFS=: read -r -a outs <<<"$7"
IFS=: read -r -a module_outs <<<"$8"
IFS=: read -r -a goals <<<"$9"
archive="${10:-}"
IFS=: read -r -a archive_paths <<<"${11:-}"

die() { echo "kernel_build: $*" >&2; exit 1; }

execroot="$PWD"
src="$execroot/$(dirname "$src_makefile")"
work="$(mktemp -d "${TMPDIR:-/tmp}/kernel_build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Out of tree: kbuild writes only into the object tree. The source's
# absolute path differs from build to build (sandbox, checkout), so kbuild's
# -fmacro-prefix-map keeps it out of __FILE__, and nothing else records it
# (no debug info).
mkdir "$work/out"
cd "$src"
log="$work/build.log"
mk() { make -s O="$work/out" ARCH="$arch" ${cross:+CROSS_COMPILE="$cross"} LOCALVERSION= "$@"; }

mk "$defconfig" >"$log" 2>&1 || { tail -n 40 "$log" >&2; die "make $defconfig failed"; }
frag_paths=()
for f in "${fragments[@]}"; do frag_paths+=("$execroot/$f"); done
if ((${#frag_paths[@]})); then
  scripts/kconfig/merge_config.sh -m -O "$work/out" "$work/out/.config" "${frag_paths[@]}" >>"$log" 2>&1 ||
    { tail -n 40 "$log" >&2; die "merging the config fragments failed"; }
  mk olddefconfig >>"$log" 2>&1 || { tail -n 40 "$log" >&2; die "make olddefconfig failed"; }
  bad=0
  for f in "${frag_paths[@]}"; do
    while IFS= read -r line; do
      case "$line" in CONFIG_*=*) ;; *) continue ;; esac
      key="${line%%=*}" want="${line#*=}"
      got="$(grep -E "^$key=" "$work/out/.config" | cut -d= -f2- || true)"
      if [[ "$want" == n ]]; then
        [[ -z "$got" ]] || { echo "kernel_build: $f: $key=n but the kernel config has $key=$got" >&2; bad=1; }
      elif [[ "$got" != "$want" ]]; then
        echo "kernel_build: $f: $key=$want did not take effect (the config has '${got:-not set}'): a dependency is missing" >&2
        bad=1
      fi
    done <"$f"
  done
  ((bad == 0)) || die "the config fragments do not hold"
fi

jobs="$(nproc 2>/dev/null || echo 2)"
mk -j"$jobs" "${goals[@]}" >>"$log" 2>&1 || { grep -E 'error|Error' "$log" | head -n 40 >&2; tail -n 20 "$log" >&2; die "make ${goals[*]} failed"; }

# modules.order must list exactly the declared module outputs.
mapfile -t listed < <(sed 's/\.o$/.ko/' "$work/out/modules.order")
declare -A want_mod=()
for m in "${module_outs[@]}"; do want_mod["$m"]=1; done
for m in "${listed[@]}"; do
  [[ -n "${want_mod[$m]:-}" ]] || die "the build made module $m, which module_outs does not declare (modules.order: ${listed[*]})"
  unset "want_mod[$m]"
done
((${#want_mod[@]} == 0)) || die "module_outs declares ${!want_mod[*]}, which the build did not make (modules.order: ${listed[*]})"

for f in "${outs[@]}" "${module_outs[@]}" modules.order; do
  [[ -f "$work/out/$f" ]] || die "the build did not make $f"
  mkdir -p "$(dirname "$execroot/$out_dir/$f")"
  cp "$work/out/$f" "$execroot/$out_dir/$f"
done
cp "$work/out/.config" "$execroot/$out_dir/kernel.config"

if [[ -n "$archive" ]]; then
  (
    cd "$work/out"
    # Text files get the two tree paths replaced; binaries are copied.
    mkdir "$work/archive"
    for p in "${archive_paths[@]}"; do
      [[ -e "$p" ]] || die "the build did not make $p (objtree_archive)"
      cp -a --parents "$p" "$work/archive/"
    done
    find "$work/archive" -type f -exec grep -Il . {} + 2>/dev/null |
      while IFS= read -r f; do
        sed -i -e "s|$src|@SRCTREE@|g" -e "s|$work/out|@OBJTREE@|g" "$f"
      done
    tar -C "$work/archive" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      --format=gnu -cf "$execroot/$archive" .
  )
fi
