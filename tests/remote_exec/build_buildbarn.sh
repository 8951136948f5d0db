#!/usr/bin/env bash
# Builds the Buildbarn engine tests/remote_exec runs on (bb_storage,
# bb_scheduler, bb_worker, bb_runner) from the Go module proxy at exactly
# the versions of tests/remote_exec/buildbarn/go.mod, every module checked
# by the go.sum next to it, into a cache directory that later runs reuse:
#
#   ${MODHASH_CACHE:-~/.cache/modhash}/buildbarn/KEY/bin/bb_*
#
# KEY hashes this script, the module's files and `go version`: a change to
# any of them builds again (about 3 minutes on 2 cores), anything else
# reuses. Prints the bin directory on stdout (the last line).
#
# Buildbarn's own build (Bazel) patches two dependencies; the diffs ship in
# its modules' patches/ directories and are applied here the same way
# (`patch -p0`) to copies of the pristine modules, whose hashes are pinned
# in buildbarn/pristine.sum (a directory replace is not in go.sum):
#   go-fuse v2.5.1      bb-remote-execution patches/com_github_hanwen_go_fuse_v2/*.diff (bb_worker)
#   genproto bytestream bb-storage patches/org_golang_google_genproto_googleapis_bytestream/*.diff (bb_storage)
#
# BUILDBARN_UPDATE_SUM=1 runs `go mod tidy` instead of checking, and writes
# go.mod and go.sum back (after a version change in go.mod).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mod="$here/buildbarn"
die() {
  echo "build_buildbarn: $*" >&2
  exit 1
}
command -v go >/dev/null || die "needs the go command (Go 1.23 or later)"
command -v patch >/dev/null || die "needs the patch command"

commands=(
  github.com/buildbarn/bb-storage/cmd/bb_storage
  github.com/buildbarn/bb-remote-execution/cmd/bb_scheduler
  github.com/buildbarn/bb-remote-execution/cmd/bb_worker
  github.com/buildbarn/bb-remote-execution/cmd/bb_runner
)
# module of the patch: the module it comes from, its directory of diffs
declare -A patch_source=(
  [github.com/hanwen/go-fuse/v2]="github.com/buildbarn/bb-remote-execution patches/com_github_hanwen_go_fuse_v2"
  [google.golang.org/genproto/googleapis/bytestream]="github.com/buildbarn/bb-storage patches/org_golang_google_genproto_googleapis_bytestream"
)
declare -A patch_dest=(
  [github.com/hanwen/go-fuse/v2]=go-fuse
  [google.golang.org/genproto/googleapis/bytestream]=bytestream
)

key="$( {
  cat "${BASH_SOURCE[0]}" "$mod/go.mod" "$mod/go.sum" "$mod/pristine.sum" "$mod/tools.go"
  go version
} | sha256sum | cut -c1-16)"
cache="${MODHASH_CACHE:-$HOME/.cache/modhash}/buildbarn"
dest="$cache/$key"
if [[ -z "${BUILDBARN_UPDATE_SUM:-}" && -f "$dest/complete" ]]; then
  echo "build_buildbarn: reusing $dest (key $key)" >&2
  echo "$dest/bin"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/modhash-buildbarn.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp "$mod/go.mod" "$mod/go.sum" "$mod/tools.go" "$work/"
cd "$work"
# Keep the machine's GOFLAGS (e.g. -buildvcs=false); no network access
# beyond the module proxy is needed.
export GOFLAGS="${GOFLAGS:-} -trimpath"
export GOTOOLCHAIN=local

dir_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
sum_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p'; }

echo "build_buildbarn: building into $dest (key $key)" >&2
# The two modules whose diffs are applied: the pristine source must be the
# one pinned in pristine.sum.
while read -r path version sum; do
  [[ -n "$path" ]] || continue
  got="$(sum_of "$path@$version")"
  [[ "$got" == "$sum" ]] || die "$path@$version: checksum $got, pristine.sum has $sum"
  read -r from_mod from_dir <<<"${patch_source[$path]}"
  from_version="$(sed -n "s|^[[:space:]]*$from_mod \(v[^ ]*\)$|\1|p" go.mod)"
  [[ -n "$from_version" ]] || die "go.mod does not require $from_mod"
  diffs="$(dir_of "$from_mod@$from_version")/$from_dir"
  copy="$work/patched/${patch_dest[$path]}"
  mkdir -p "$copy"
  cp -R "$(dir_of "$path@$version")/." "$copy/"
  chmod -R u+w "$copy"
  n=0
  for d in "$diffs"/*.diff; do
    [[ -f "$d" ]] || die "no diffs in $diffs"
    patch -p0 -s --forward --no-backup-if-mismatch -d "$copy" <"$d" ||
      die "$(basename "$d") does not apply to $path@$version"
    n=$((n + 1))
  done
  echo "build_buildbarn: $path@$version patched with $n diffs of $from_mod/$from_dir" >&2
done <"$mod/pristine.sum"

if [[ -n "${BUILDBARN_UPDATE_SUM:-}" ]]; then
  go mod tidy
  cp go.mod go.sum "$mod/"
  echo "build_buildbarn: wrote $mod/go.mod and go.sum; run again to build" >&2
  exit 0
fi

# -mod=readonly: go.mod and go.sum as committed, nothing resolved anew.
go mod verify >&2
mkdir -p "$work/bin"
t0=$SECONDS
nice -n 10 go build -mod=readonly -o "$work/bin/" "${commands[@]}"
echo "build_buildbarn: built in $((SECONDS - t0))s" >&2

mkdir -p "$cache"
tmpdest="$(mktemp -d "$cache/.tmp.XXXXXX")"
cp -R "$work/bin" "$tmpdest/bin"
(cd "$tmpdest/bin" && sha256sum bb_*) >"$tmpdest/SHA256SUMS"
touch "$tmpdest/complete"
rm -rf "$dest"
mv "$tmpdest" "$dest"
echo "$dest/bin"
