#!/bin/sh
# Install the Debian cross toolchains that the ELF patching tests
# (merkle/vmlinux) build their "vmlinux" fixtures with. Idempotent and
# non-interactive: when every compiler is already on PATH it returns at once
# without touching apt. Run as root (or with sudo available).
set -eu

# package:compiler pairs; the compiler name is what the Go tests look for.
pairs="
gcc:gcc
binutils:objcopy
gcc-aarch64-linux-gnu:aarch64-linux-gnu-gcc
gcc-i686-linux-gnu:i686-linux-gnu-gcc
gcc-arm-linux-gnueabihf:arm-linux-gnueabihf-gcc
gcc-powerpc64-linux-gnu:powerpc64-linux-gnu-gcc
gcc-s390x-linux-gnu:s390x-linux-gnu-gcc
gcc-mips-linux-gnu:mips-linux-gnu-gcc
"

missing=""
for p in $pairs; do
	pkg=${p%%:*}
	bin=${p#*:}
	if ! command -v "$bin" >/dev/null 2>&1; then
		missing="$missing $pkg"
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
