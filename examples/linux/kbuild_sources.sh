#!/usr/bin/env bash
# The action behind kernel_build's kbuild_sources.tar (kernel_build.bzl,
# kbuild_source_paths): the source files that makes over the finished object
# tree read, in one tar file, the same from build to build.
#
#   kbuild_sources.sh OUT_TAR SOURCE_ROOT FILE...   (in a params file)
#
# FILE paths start with SOURCE_ROOT (the directory of the tree's top
# Makefile); they are archived relative to it, dereferenced (the sandbox's
# inputs are symlinks, a remote executor's may be hard links to one cached
# file for equal contents: each is archived as a file of its own), in name
# order, with time 0, and with modes 0644 or 0755 (executable or not): an
# executor may hand inputs over read-only (Buildbarn hard-links them
# 0444/0555), which must not change the archive.
set -euo pipefail

if [[ $# -eq 1 && "$1" == @* ]]; then
  mapfile -t argv <"${1#@}"
  set -- "${argv[@]}"
fi
out="$1" root="$2"
shift 2
(($# > 0)) || { echo "kbuild_sources: no source files" >&2; exit 1; }
list="$(mktemp "${TMPDIR:-/tmp}/kbuild_sources.XXXXXX")"
trap 'rm -f "$list"' EXIT
for f in "$@"; do
  [[ "$f" == "$root"* ]] || { echo "kbuild_sources: $f is not under $root" >&2; exit 1; }
  printf '%s\n' "${f#"$root"}"
done >"$list"
tar -C "$root" --dereference --hard-dereference --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  --mode=u=rwX,go=rX --format=gnu -cf "$out" -T "$list"
