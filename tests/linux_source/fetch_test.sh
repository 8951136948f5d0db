#!/usr/bin/env bash
# Tests examples/linux/fetch_debian_package.sh, the fetch behind
# debian_linux_source, against a fake apt (apt-get download, apt-cache
# madison) serving a small package made here: the pinned bytes are taken
# and cached, other bytes are refused by name, and a version the archive no
# longer serves gives the versions it does and the command that re-pins.
set -euo pipefail

fetch="$1"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fails=0
check() { # check NAME WANT_STATUS PATTERN... : the last run's status and stderr
  local name="$1" want="$2"
  shift 2
  if [[ "$status" != "$want" ]]; then
    echo "FAIL $name: exit $status, want $want; stderr:"; sed 's/^/  /' "$work/err"; fails=$((fails + 1)); return
  fi
  local p
  for p in "$@"; do
    if ! grep -qF -- "$p" "$work/err"; then
      echo "FAIL $name: stderr lacks '$p':"; sed 's/^/  /' "$work/err"; fails=$((fails + 1)); return
    fi
  done
  echo "ok   $name"
}

# A package linux-source-9.9 holding usr/src/linux-source-9.9.tar.xz.
mkdir -p "$work/pkg/DEBIAN" "$work/pkg/usr/src"
printf 'the pinned kernel source\n' >"$work/pkg/usr/src/linux-source-9.9.tar.xz"
cat >"$work/pkg/DEBIAN/control" <<'CTL'
Package: linux-source-9.9
Version: 9.9.2-1
Architecture: all
Maintainer: test <test@example.invalid>
Description: fake kernel source for the fetch test
CTL
dpkg-deb --root-owner-group -Zgzip --build "$work/pkg" "$work/served.deb" >/dev/null
deb_sha="$(sha256sum "$work/served.deb" | cut -d' ' -f1)"
tar_sha="$(sha256sum "$work/pkg/usr/src/linux-source-9.9.tar.xz" | cut -d' ' -f1)"
other_sha="$(printf 'other' | sha256sum | cut -d' ' -f1)"

# The fake apt: SERVED lists the versions the archive offers; `download`
# of one of them copies served.deb, of another fails as apt-get does.
mkdir "$work/bin"
cat >"$work/bin/apt-get" <<APT
#!/usr/bin/env bash
[[ "\$1" == download ]] || exit 100
shift; [[ "\$1" == -q ]] && shift
pkg="\${1%%=*}" ver="\${1#*=}"
for v in \${SERVED:-}; do
  if [[ "\$v" == "\$ver" ]]; then cp "$work/served.deb" "\${pkg}_\${ver}_all.deb"; exit 0; fi
done
echo "E: Version '\$ver' for '\$pkg' was not found" >&2
exit 100
APT
cat >"$work/bin/apt-cache" <<'APT'
#!/usr/bin/env bash
[[ "$1" == madison ]] || exit 100
for v in ${SERVED:-}; do echo " $2 | $v | fake archive Packages"; done
APT
chmod +x "$work/bin/apt-get" "$work/bin/apt-cache"
export PATH="$work/bin:$PATH"

run() { # run CACHE VERSION DEB_SHA TAR_SHA
  status=0
  bash "$fetch" linux-source-9.9 "$2" "$3" usr/src/linux-source-9.9.tar.xz "$4" "$1" "$work/out.tar.xz" 2>"$work/err" || status=$?
}

SERVED="9.9.2-1 9.9.1-1" run "$work/cache" 9.9.2-1 "$deb_sha" "$tar_sha"
check "the pinned version is fetched and its tarball extracted" 0
cmp -s "$work/out.tar.xz" "$work/pkg/usr/src/linux-source-9.9.tar.xz" || { echo "FAIL: the extracted tarball differs"; fails=$((fails + 1)); }
[[ -f "$work/cache/linux-source-9.9_9.9.2-1_all.deb" ]] || { echo "FAIL: the .deb was not kept in the cache"; fails=$((fails + 1)); }

rm -f "$work/out.tar.xz"
SERVED="" run "$work/cache" 9.9.2-1 "$deb_sha" "$tar_sha"
check "a second fetch reads the cache (the archive no longer serves it)" 0
[[ -f "$work/out.tar.xz" ]] || { echo "FAIL: no tarball from the cache"; fails=$((fails + 1)); }

SERVED="9.9.2-1" run "$work/cache2" 9.9.2-1 "$deb_sha" "$other_sha"
check "a tarball whose hash differs is refused" 1 \
  "linux-source-9.9=9.9.2-1" "usr/src/linux-source-9.9.tar.xz in" "has SHA-256 $tar_sha, but the pin says $other_sha; refusing it"
[[ ! -e "$work/out.tar.xz.part" ]] || { echo "FAIL: a refused tarball was left behind"; fails=$((fails + 1)); }

SERVED="9.9.2-1" run "$work/cache3" 9.9.2-1 "$other_sha" "$tar_sha"
check "a .deb whose hash differs is refused and not cached" 1 \
  "linux-source-9.9=9.9.2-1" "has SHA-256 $deb_sha, but the pin says $other_sha"
ls "$work/cache3"/*.deb >/dev/null 2>&1 && { echo "FAIL: a refused .deb was cached"; fails=$((fails + 1)); }

SERVED="9.9.3-1 9.9.10-1 9.9.2-1" run "$work/cache4" 9.9.1-1 "$deb_sha" "$tar_sha"
check "a version gone from the archive names the pin, the offered versions and the re-pin command" 3 \
  "debian package linux-source-9.9=9.9.1-1: the pinned version is no longer in the archive" \
  "the archive offers: 9.9.10-1 9.9.3-1 9.9.2-1" "examples/linux/repin.sh 9.9.10-1"

SERVED="" run "$work/cache5" 9.9.2-1 "$deb_sha" "$tar_sha"
check "apt knowing no version says to run apt-get update" 3 "apt knows no version of linux-source-9.9 (run apt-get update"

# A directory planted at the cached .deb's name (issue 26, D1): named and
# refused, before any download; nothing moved into it; no .part file and
# no temporary directory left.
planted="$work/cache6/linux-source-9.9_9.9.2-1_all.deb"
mkdir -p "$planted"
rm -f "$work/out.tar.xz"
SERVED="9.9.2-1" run "$work/cache6" 9.9.2-1 "$deb_sha" "$tar_sha"
check "a directory at the cached .deb's name is named and refused" 1 \
  "$planted is a directory, not a cached package" "remove it"
[[ -z "$(ls -A "$planted")" ]] || { echo "FAIL: something was put into the planted directory: $(ls -A "$planted")"; fails=$((fails + 1)); }
leftovers="$(find "$work" -name '*.part' -o -name '.fetch.*' -o -name '.out.tar.xz.*')"
[[ -z "$leftovers" ]] || { echo "FAIL: leftovers: $leftovers"; fails=$((fails + 1)); }
[[ ! -e "$work/out.tar.xz" ]] || { echo "FAIL: an output was written"; fails=$((fails + 1)); }
# Removed, the cache heals: the next fetch downloads and caches it.
rmdir "$planted"
SERVED="9.9.2-1" run "$work/cache6" 9.9.2-1 "$deb_sha" "$tar_sha"
check "after the directory is removed the fetch caches the package" 0
[[ -f "$planted" ]] || { echo "FAIL: the .deb was not cached"; fails=$((fails + 1)); }

# A killed extraction's output is never left under a predictable name:
# the part file comes from mktemp and is removed on any failure.
rm -f "$work/out.tar.xz"
SERVED="" run "$work/cache6" 9.9.2-1 "$deb_sha" "$other_sha"
check "a refused tarball leaves no temporary file" 1 "refusing it"
leftovers="$(find "$work" -name '*.part' -o -name '.out.tar.xz.*')"
[[ -z "$leftovers" ]] || { echo "FAIL: leftovers: $leftovers"; fails=$((fails + 1)); }

if ((fails)); then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
