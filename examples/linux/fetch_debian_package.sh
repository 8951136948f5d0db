#!/usr/bin/env bash
# Gets one exact version of a Debian package into a cache of its own and
# takes one file out of it, both checked against their pinned SHA-256:
# what debian_linux_source (linux_source.bzl) runs, so that the kernel
# source is the pinned bytes whatever the machine has installed (another
# linux-source-6.12 in /usr/src, or none).
#
#   fetch_debian_package.sh PACKAGE VERSION DEB_SHA256 MEMBER MEMBER_SHA256 CACHE_DIR OUT
#
# PACKAGE=VERSION is fetched with `apt-get download` into CACHE_DIR (kept
# there: a second fetch reads the cache), checked against DEB_SHA256, and
# MEMBER (a path inside the package, e.g. usr/src/linux-source-6.12.tar.xz)
# is extracted with dpkg-deb to OUT and checked against MEMBER_SHA256.
# Nothing is installed system-wide.
#
# Exit status: 0 done; 3 the pinned version is not in the archive (the
# message lists the versions it offers and the command that moves the pin);
# 1 anything else (hash mismatch, apt or dpkg failure), the message naming
# the pin and the file.
set -euo pipefail

if (($# != 7)); then
  echo "usage: $0 PACKAGE VERSION DEB_SHA256 MEMBER MEMBER_SHA256 CACHE_DIR OUT" >&2
  exit 2
fi
package="$1" version="$2" deb_sha256="$3" member="${4#./}" member_sha256="$5" cache="$6" out="$7"
pin="$package=$version"
repin="examples/linux/repin.sh"

die() { echo "debian package $pin: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# Every temporary name comes from mktemp and goes on any exit.
tmp="" part=""
trap 'rm -rf "${tmp:-}" "${part:-}"' EXIT

mkdir -p "$cache" || die "cannot create the cache directory $cache"
# apt-get download names the file PACKAGE_VERSION_ARCH.deb, the epoch's
# colon written %3a; the architecture is not known before, hence the glob.
deb_glob="${package}_${version//:/%3a}_*.deb"

# A cache entry that is not a regular file (a directory, a FIFO, a link)
# was planted or left by something else: named and refused, never read,
# written into or removed.
for f in "$cache"/$deb_glob; do
  if [[ -e "$f" || -L "$f" ]] && { [[ -L "$f" ]] || [[ ! -f "$f" ]]; }; then
    what="not a regular file"
    [[ -d "$f" && ! -L "$f" ]] && what="a directory"
    [[ -L "$f" ]] && what="a symbolic link"
    die "$f is $what, not a cached package: remove it (the next fetch downloads the package again)"
  fi
done

cached() {
  local f
  for f in "$cache"/$deb_glob; do
    [[ -f "$f" ]] || continue
    if [[ "$(sha "$f")" == "$deb_sha256" ]]; then
      printf '%s\n' "$f"
      return 0
    fi
  done
  return 1
}

if ! deb="$(cached)"; then
  # Downloaded into a private directory, checked, then renamed into the
  # cache: a killed or concurrent fetch never leaves a partial .deb under
  # the cached name.
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  chmod 755 "$tmp" # apt-get download runs as _apt when it can write there
  if ! (cd "$tmp" && apt-get download -q "$pin") >"$tmp/apt.log" 2>&1; then
    offered="$(apt-cache madison "$package" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -u -V -r | tr '\n' ' ')"
    if [[ -z "$offered" ]]; then
      echo "debian package $pin: apt-get download failed and apt knows no version of $package (run apt-get update, as root, then build again):" >&2
      sed 's/^/  /' "$tmp/apt.log" >&2
      exit 3
    fi
    if ! grep -qxF "$version" <<<"${offered// /$'\n'}"; then
      cat >&2 <<EOF
debian package $pin: the pinned version is no longer in the archive.
  the archive offers: $offered
  move the pin (WORKSPACE, MODULE.bazel) to one of them, checking that the test port still applies:
    $repin ${offered%% *}
EOF
      exit 3
    fi
    echo "debian package $pin: apt-get download failed although the archive offers that version:" >&2
    sed 's/^/  /' "$tmp/apt.log" >&2
    exit 1
  fi
  got=("$tmp"/$deb_glob)
  [[ -f "${got[0]}" ]] || die "apt-get download made no $deb_glob in $tmp"
  have="$(sha "${got[0]}")"
  if [[ "$have" != "$deb_sha256" ]]; then
    die "$(basename "${got[0]}") has SHA-256 $have, but the pin says $deb_sha256: the archive serves other bytes under this version; refusing it"
  fi
  deb="$cache/$(basename "${got[0]}")"
  # -T: a directory that appeared at the name meanwhile is an error, not
  # a place to move the package into.
  mv -fT "${got[0]}" "$deb" || die "cannot put the package at $deb (a directory there?)"
fi

mkdir -p "$(dirname "$out")"
part="$(mktemp "$(dirname "$out")/.$(basename "$out").XXXXXX")"
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./$member" >"$part" ||
  die "$deb has no $member (dpkg-deb --fsys-tarfile | tar failed)"
have="$(sha "$part")"
if [[ "$have" != "$member_sha256" ]]; then
  die "$member in $deb has SHA-256 $have, but the pin says $member_sha256; refusing it"
fi
chmod "$(printf '%o' $((0666 & ~0$(umask))))" "$part" # as a plain redirection would create it
mv -fT "$part" "$out"
part=""
