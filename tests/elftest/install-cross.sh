#!/bin/sh
# Install the Debian cross toolchains that the ELF patching tests
# (merkle/vmlinux) build their "vmlinux" fixtures with, and the compressors
# the boot image tests (merkle/audit, internal/modcompress) make kbuild's
# compressed kernel images with. Idempotent and
# non-interactive: when every compiler is already on PATH it returns at once
# without touching apt. Run as root (or with sudo available).
set -eu

# package:program pairs; the programs are what the Go tests look for
# (tests/elftest/fixture.go: <triplet>-gcc, -objcopy, -readelf).
pairs="
gcc:gcc
binutils:objcopy
binutils:readelf
gzip:gzip
xz-utils:xz
xz-utils:lzma
zstd:zstd
lz4:lz4
bzip2:bzip2
lzop:lzop
"
if [ "$(uname -m)" = x86_64 ]; then
	# The host target, under its triplet name (tests/elftest: Host).
	pairs="$pairs gcc:x86_64-linux-gnu-gcc binutils:x86_64-linux-gnu-objcopy binutils:x86_64-linux-gnu-readelf"
fi
for t in aarch64-linux-gnu i686-linux-gnu arm-linux-gnueabihf powerpc64-linux-gnu s390x-linux-gnu mips-linux-gnu; do
	pairs="$pairs gcc-$t:$t-gcc binutils-$t:$t-objcopy binutils-$t:$t-readelf"
done

missing=""
for p in $pairs; do
	pkg=${p%%:*}
	bin=${p#*:}
	if ! command -v "$bin" >/dev/null 2>&1; then
		case " $missing " in
		*" $pkg "*) ;;
		*) missing="$missing $pkg" ;;
		esac
	fi
done

if [ -z "$missing" ]; then
	echo "install-cross: all cross toolchains present"
	exit 0
fi

echo "install-cross: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is wanted
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-cross: done"
