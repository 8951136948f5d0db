#!/usr/bin/env bash
# The action behind kernel_build (kernel_build.bzl): one run of the kernel's
# own make for one architecture, out of tree in a private object tree.
#
#   kernel_build.sh SRC_MAKEFILE OUT_DIR ARCH CROSS_COMPILE DEFCONFIG \
#       FRAGMENTS(:-separated) OUTS(:-separated, objtree paths) \
#       MODULE_OUTS(:-separated) MAKE_GOALS(:-separated) \
#       OBJTREE_FILES(:-separated FILE=OBJTREE_PATH) [ARCHIVE ARCHIVE_PATHS(:-separated)]
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
IFS=: read -r -a objtree_files <<<"${10}"
archive="${11:-}"
IFS=: read -r -a archive_paths <<<"${12:-}"

die() { echo "kernel_build: $*" >&2; exit 1; }

execroot="$PWD"
src="$(realpath "$execroot/$(dirname "$src_makefile")")" # as make computes srctree
work="$(mktemp -d "${TMPDIR:-/tmp}/kernel_build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Out of tree: kbuild writes only into the object tree. The source's
# absolute path differs from build to build (sandbox, checkout), so kbuild's
# -fmacro-prefix-map keeps it out of __FILE__, and nothing else records it
# (no debug info).
mkdir "$work/out"
# Files the configuration names in the object tree (a signing key).
for pair in "${objtree_files[@]}"; do
  mkdir -p "$(dirname "$work/out/${pair#*=}")"
  cp "$execroot/${pair%%=*}" "$work/out/${pair#*=}"
done
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
  # What the fragments ask for, the later fragment's word winning as in
  # merge_config.sh.
  declare -A want_of=() from=()
  for f in "${frag_paths[@]}"; do
    while IFS= read -r line; do
      case "$line" in CONFIG_*=*) ;; *) continue ;; esac
      want_of["${line%%=*}"]="${line#*=}"
      from["${line%%=*}"]="$f"
    done <"$f"
  done
  bad=0
  for key in "${!want_of[@]}"; do
    want="${want_of[$key]}" f="${from[$key]}"
    got="$(grep -E "^$key=" "$work/out/.config" | cut -d= -f2- || true)"
    if [[ "$want" == n ]]; then
      [[ -z "$got" ]] || { echo "kernel_build: $f: $key=n but the kernel config has $key=$got" >&2; bad=1; }
    elif [[ "$got" != "$want" ]]; then
      echo "kernel_build: $f: $key=$want did not take effect (the config has '${got:-not set}'): a dependency is missing" >&2
      bad=1
    fi
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
mkdir -p "$execroot/$out_dir/include/config"
cp "$work/out/include/config/kernel.release" "$execroot/$out_dir/include/config/kernel.release"
cp "$work/out/Module.symvers" "$execroot/$out_dir/Module.symvers"

# What the build was made with, the way Debian's .buildinfo says it: the
# pinned source (debian_linux_source writes modhash-source.buildinfo), the
# exact versions of the Debian packages whose tools made these bytes, the
# build's settings, and the outputs' hashes. A rebuilder installs these
# versions to get the same bytes; two builds of the same inputs on the
# same toolchain write the same file.
package_of() { # the Debian package that holds a program or file
  local p
  p="$(readlink -f "$1")"
  dpkg-query -S "$p" 2>/dev/null || dpkg-query -S "${p#/usr}" 2>/dev/null || true
}
{
  echo "Format: modhash-kernel-buildinfo 1"
  echo "Architecture: $arch"
  echo "Kernel-Release: $(cat "$work/out/include/config/kernel.release")"
  if [[ -f "$src/modhash-source.buildinfo" ]]; then cat "$src/modhash-source.buildinfo"; fi
  echo "Build-Environment:"
  {
    for tool in "${cross}gcc" "${cross}ld" "${cross}as" "${cross}objcopy" "${cross}strip" gcc ld make flex bison bc perl xz gzip lz4 sh; do
      t="$(command -v "$tool" || true)"
      [[ -n "$t" ]] && package_of "$t"
    done
    package_of "$("${cross}gcc" -print-prog-name=cc1)"
    package_of "$(gcc -print-prog-name=cc1)"
    package_of /usr/include/gelf.h
    package_of /usr/include/openssl/evp.h
    package_of /usr/include/stdio.h
  } | cut -d: -f1 | sort -u | while IFS= read -r pkg; do
    [[ -n "$pkg" ]] && dpkg-query -W -f=' ${Package} (= ${Version}),\n' "$pkg"
  done | sed '$ s/,$//'
  echo "Environment:"
  for v in KBUILD_BUILD_HOST KBUILD_BUILD_TIMESTAMP KBUILD_BUILD_USER KBUILD_BUILD_VERSION LC_ALL TZ; do
    echo " $v=\"${!v:-}\""
  done
  echo " make: ARCH=$arch CROSS_COMPILE=$cross $defconfig + ${fragments[*]##*/} -> ${goals[*]}"
  echo "Checksums-Sha256:"
  (cd "$execroot/$out_dir" && for f in "${outs[@]}" "${module_outs[@]}" modules.order kernel.config include/config/kernel.release Module.symvers; do
    printf ' %s %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
  done)
} >"$execroot/$out_dir/kernel.buildinfo"

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
