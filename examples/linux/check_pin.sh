#!/usr/bin/env bash
# Checks that the pinned kernel source (debian_linux_source in WORKSPACE)
# can still be had, before anything long runs: it fetches the pinned
# package into debian_linux_source's cache with the same script and the
# same checks, so a second build reads it from there. tests/run_all.sh
# runs it first. When apt knows no version at all (a machine whose package
# lists were never fetched), it runs `apt-get update` once and tries again.
#
# Exit status: 0 the pin can be had (and is now cached); otherwise the
# fetch's message, naming the pin and, when the archive dropped it, the
# command that moves it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

pin_field() { # the value of one attribute of the linux_6_12 pin in WORKSPACE
  awk -v key="$1" '/^debian_linux_source\(/ { inpin = 1 } inpin && $1 == key { gsub(/[",]/, "", $3); print $3; exit } inpin && /^\)/ { inpin = 0 }' WORKSPACE
}
package="$(pin_field package)" version="$(pin_field package_version)"
deb_sha256="$(pin_field deb_sha256)" tarball="$(pin_field tarball)" sha256="$(pin_field sha256)"
for v in package version deb_sha256 tarball sha256; do
  [[ -n "${!v}" ]] || { echo "check_pin: WORKSPACE: the linux_6_12 pin has no $v" >&2; exit 2; }
done
cache="${MODHASH_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modhash/debs}"
out="$(mktemp)" err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT

fetch() { bash examples/linux/fetch_debian_package.sh "$package" "$version" "$deb_sha256" "$tarball" "$sha256" "$cache" "$out"; }
status=0
fetch 2>"$err" || status=$?
if ((status == 3)) && grep -q 'apt knows no version' "$err"; then
  echo "check_pin: apt knows no version of $package: apt-get update" >&2
  sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
  "${sudo[@]}" apt-get update -q </dev/null >&2 || true
  status=0
  fetch 2>"$err" || status=$?
fi
if ((status != 0)); then
  cat "$err" >&2
  exit "$status"
fi
echo "pinned kernel source: $package=$version (.deb $deb_sha256, $tarball $sha256): can be had, cached in $cache"
