#!/usr/bin/env bash
# Moves the pin of the kernel source (debian_linux_source in WORKSPACE and
# MODULE.bazel, the only two places that hold it) to another version of
# Debian's linux-source-6.12, after checking that the test port of
# CONFIG_MODULE_HASHES still applies to it.
#
#   examples/linux/repin.sh VERSION     e.g. 6.12.118-1~deb12u1
#   examples/linux/repin.sh             lists the versions the archive offers
#
# It fetches the package with `apt-get download` (nothing is installed),
# computes the SHA-256 of the .deb and of the tarball in it, reads the
# release from the tarball's Makefile, dry-runs every patch of
# examples/linux/patches, and only then rewrites the pin. Run `apt-get
# update` first for the archive's current list.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

package=linux-source-6.12
member=usr/src/linux-source-6.12.tar.xz

if (($# != 1)); then
  echo "usage: $0 VERSION" >&2
  echo "the archive offers $package:" >&2
  apt-cache madison "$package" | awk -F'|' '{ gsub(/ /, "", $2); print "  " $2 }' >&2
  exit 2
fi
version="$1"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$package=$version") ||
  { echo "repin: apt-get download $package=$version failed (apt-cache madison $package lists what is offered)" >&2; exit 1; }
deb=("$work"/*.deb)
deb_sha256="$(sha256sum "${deb[0]}" | cut -d' ' -f1)"
dpkg-deb --fsys-tarfile "${deb[0]}" | tar -xOf - "./$member" >"$work/linux.tar.xz"
sha256="$(sha256sum "$work/linux.tar.xz" | cut -d' ' -f1)"
mkdir "$work/src"
tar -xf "$work/linux.tar.xz" -C "$work/src" --strip-components=1
release="$(awk -F' = ' '$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 } $1 == "SUBLEVEL" { s = $2 } END { print v "." p "." s }' "$work/src/Makefile")"

for p in examples/linux/patches/*.patch; do
  if ! (cd "$work/src" && patch -p1 --dry-run -s) <"$p"; then
    echo "repin: $p does not apply to $package=$version (Linux $release): port it first; the pin is unchanged" >&2
    exit 1
  fi
  (cd "$work/src" && patch -p1 -s) <"$p"
done

for f in WORKSPACE MODULE.bazel; do
  python3 - "$f" "$version" "$deb_sha256" "$sha256" "$release" <<'EOF'
import re, sys
path, version, deb_sha256, sha256, release = sys.argv[1:]
text = open(path).read()
start = text.index("debian_linux_source(\n    name = \"linux_6_12\"")
end = text.index("\n)", start)
block = text[start:end]
for key, value in (("package_version", version), ("deb_sha256", deb_sha256), ("sha256", sha256), ("version", release)):
    block, n = re.subn(r'(\n    %s = ")[^"]*(")' % key, r"\g<1>%s\g<2>" % value, block)
    if n != 1:
        sys.exit("repin: %s: no single %s in the linux_6_12 pin" % (path, key))
open(path, "w").write(text[:start] + block + text[end:])
EOF
done
echo "repin: $package=$version (Linux $release): deb $deb_sha256, tarball $sha256; WORKSPACE and MODULE.bazel updated, the test port applies"
