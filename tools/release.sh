#!/usr/bin/env bash
# Makes the release archive of the checked-out commit and prints what the
# release notes need:
#
#   tools/release.sh VERSION OUTDIR             write OUTDIR/modhash-VERSION.tar.gz
#   tools/release.sh --check-readme VERSION OUTDIR
#                                               also fail unless README.md's install
#                                               block is the printed one
#   tools/release.sh --write-readme VERSION OUTDIR
#                                               also write the printed block into README.md
#
# The archive is deterministic: the same commit gives the same bytes on any
# machine (GNU tar, names sorted, every mtime 2000-01-01 00:00 UTC, owner
# and group 0, modes 0644/0755 from git's executable bit, gzip -n). VERSION must
# be MODULE.bazel's version. It holds what a consumer builds with (the rules,
# the tool's Go sources and their tests' helper, go.mod/go.sum, bazel/,
# deps.bzl, toolchains.bzl, BUILD files, LICENSE, README, CHANGELOG, docs),
# not tests/ and examples/ (kernel builds, fixtures, benchmarks).
#
# An archive cannot hold its own SHA-256, so README.md's install block
# (between the release-snippet markers) is replaced in the archive by a
# fixed line; README.md in the repository holds the real block, which
# tests/consumer/consumer_test.sh checks with --check-readme.
#
# The URLs printed are MODHASH_RELEASE_URL_BASE/modhash-VERSION.tar.gz
# (default: the GitHub release of tag vVERSION). Uncommitted changes are
# refused; MODHASH_RELEASE_DIRTY=1 archives the working tree's files
# (tracked and untracked, not ignored) instead: for tests only, never for
# a release.
#
# Exit status: 0 done, 1 failed, 2 usage.
set -euo pipefail

usage() {
  echo "usage: tools/release.sh [--check-readme|--write-readme] VERSION OUTDIR" >&2
  exit 2
}
die() {
  echo "release.sh: $*" >&2
  exit 1
}

readme_mode=""
case "${1:-}" in
  --check-readme | --write-readme)
    readme_mode="${1#--}"
    shift
    ;;
esac
[[ $# -eq 2 ]] || usage
version="$1"
outdir="$2"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
  die "VERSION must look like 1.2.3 (got '$version')"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
git -C "$repo" rev-parse --verify -q HEAD >/dev/null || die "$repo is not a git checkout with a commit"
tar --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is needed (--sort=name)"

# The release's version is MODULE.bazel's: the bzlmod snippet names it, and
# a registry checks that the archive's MODULE.bazel agrees.
module_version="$(sed -n '/^module(/,/^)/s/^ *version = "\([^"]*\)".*/\1/p' "$repo/MODULE.bazel")"
[[ "$module_version" == "$version" ]] ||
  die "MODULE.bazel says version \"$module_version\", not \"$version\": set it first"

# What a consumer needs; git archive fails if one is missing.
paths=(
  BUILD.bazel
  CHANGELOG.md
  LICENSE
  MODULE.bazel
  README.md
  WORKSPACE
  WORKSPACE.bzlmod
  bazel
  deps.bzl
  docs
  go.mod
  go.sum
  internal
  merkle
  rules
  tests/elftest # the Go tests' ELF helper (their go_test targets load it)
  toolchains.bzl
  tools
)

prefix="modhash-$version"
name="$prefix.tar.gz"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/modhash-release.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# A fixed time, not the commit's: the README's install block names the
# archive's SHA-256, and committing an update of it must not change the
# archive again.
epoch=946684800 # 2000-01-01T00:00:00Z
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=normal)" ]]; then
  [[ "${MODHASH_RELEASE_DIRTY:-}" == 1 ]] ||
    die "the checkout has uncommitted changes (git status); commit them, or set MODHASH_RELEASE_DIRTY=1 for a test archive of the working tree"
  # A tree of the working tree's files, made with a private index: the
  # checkout's own index is left alone.
  GIT_INDEX_FILE="$tmp/index" git -C "$repo" add -A .
  treeish="$(GIT_INDEX_FILE="$tmp/index" git -C "$repo" write-tree)"
  echo "release.sh: MODHASH_RELEASE_DIRTY=1: archiving the working tree (tree $treeish), not a commit" >&2
else
  treeish="$(git -C "$repo" rev-parse HEAD)"
fi

mkdir "$tmp/$prefix"
git -C "$repo" archive --format=tar "$treeish" -- "${paths[@]}" | tar -C "$tmp/$prefix" -xf -

# README.md's install block names the archive's SHA-256: in the archive it
# is replaced by a fixed line (see the top of this file).
begin='<!-- release-snippet:begin'
end='<!-- release-snippet:end -->'
readme="$tmp/$prefix/README.md"
[[ "$(grep -c "^$begin" "$readme")" == 1 && "$(grep -c "^$end" "$readme")" == 1 ]] ||
  die "README.md must have one '$begin ...' and one '$end' line"
awk -v b="$begin" -v e="$end" '
  index($0, b) == 1 { print; print "The WORKSPACE and MODULE.bazel lines of this release, with its SHA-256, are in its release notes."; skip = 1; next }
  index($0, e) == 1 { skip = 0 }
  !skip { print }
' "$readme" >"$tmp/README.md" && mv "$tmp/README.md" "$readme"

# Deterministic tar: sorted names, fixed times, owners and modes; gzip -n
# leaves out the file name and time.
tar -C "$tmp" --sort=name --format=gnu --mtime="@$epoch" \
  --owner=0 --group=0 --numeric-owner --mode='u=rwX,go=rX' \
  -cf - "$prefix" | gzip -9 -n >"$tmp/$name"
mv "$tmp/$name" "$outdir/$name"
sha256="$(sha256sum "$outdir/$name" | cut -c1-64)"
# Subresource Integrity form for bzlmod: base64 of the digest's bytes.
integrity="$(printf "$(sed 's/../\\x&/g' <<<"$sha256")" | base64 -w0)"

url_base="${MODHASH_RELEASE_URL_BASE:-https://github.com/modhash/modhash/releases/download/v$version}"
snippet="$tmp/snippet.md"
cat >"$snippet" <<EOF
WORKSPACE (Bazel 4.2 and later without bzlmod):

\`\`\`starlark
load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

http_archive(
    name = "modhash",
    sha256 = "$sha256",
    strip_prefix = "$prefix",
    urls = ["$url_base/$name"],
)

load("@modhash//:deps.bzl", "modhash_dependencies")

modhash_dependencies()

load("@modhash//:toolchains.bzl", "modhash_register_toolchains")

modhash_register_toolchains()
\`\`\`

MODULE.bazel (Bazel 7 and later with bzlmod; audited, not run; modhash is in
no registry, hence the override):

\`\`\`starlark
bazel_dep(name = "modhash", version = "$version")

archive_override(
    module_name = "modhash",
    integrity = "sha256-$integrity",
    strip_prefix = "$prefix",
    urls = ["$url_base/$name"],
)
\`\`\`
EOF

echo "$outdir/$name"
echo "SHA-256: $sha256"
echo
cat "$snippet"

# The README's block: the snippet between the markers.
block() {
  awk -v b="$begin" -v e="$end" '
    index($0, b) == 1 { inside = 1; next }
    index($0, e) == 1 { inside = 0 }
    inside { print }
  ' "$1"
}
case "$readme_mode" in
  check-readme)
    if ! diff -u <(block "$repo/README.md") "$snippet" >"$tmp/readme.diff"; then
      cat "$tmp/readme.diff" >&2
      die "README.md's install block is not this release's (- README, + release.sh); update it: tools/release.sh --write-readme $version OUTDIR"
    fi
    echo "release.sh: README.md's install block is this release's"
    ;;
  write-readme)
    awk -v b="$begin" -v e="$end" -v f="$snippet" '
      index($0, b) == 1 { print; while ((getline line < f) > 0) print line; skip = 1; next }
      index($0, e) == 1 { skip = 0 }
      !skip { print }
    ' "$repo/README.md" >"$tmp/README.new"
    cat "$tmp/README.new" >"$repo/README.md"
    echo "release.sh: wrote the install block into README.md (the archive does not depend on it)"
    ;;
esac
