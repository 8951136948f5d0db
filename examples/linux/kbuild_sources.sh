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
# order, with time 0, and every file mode 0755: Bazel 4.2 marks every
# input of a remote action executable and Buildbarn hands inputs over
# read-only, so the modes an action sees say nothing about the sources;
# the makes over the archive run their scripts through a shell or perl and
# make the same bytes with any of these modes (the remote test compares
# the modules and images of both).
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
  --mode=0755 --format=gnu -cf "$out" -T "$list"
