#!/usr/bin/env bash
# The action behind nolibc_init (boot_test.bzl): builds the boot tests' init
# as a static, freestanding program for ARCH, against the kernel source's
# own nolibc and UAPI headers, with only the (cross) compiler.
#
#   build_init.sh SRC_MAKEFILE ARCH CROSS_COMPILE INIT_C OUT
set -euo pipefail
src="$PWD/$(dirname "$1")" arch="$2" cross="$3" init_c="$4" out="$5"
work="$(mktemp -d "${TMPDIR:-/tmp}/nolibc_init.XXXXXX")"
trap 'rm -rf "$work"' EXIT
make -s -C "$src" O="$work/obj" ARCH="$arch" headers >"$work/log" 2>&1 ||
  { cat "$work/log" >&2; echo "nolibc_init: make headers for $arch failed" >&2; exit 1; }
cc="${cross}gcc"
"$cc" -Wall -Werror -Os -static -nostdlib -nostdinc -fno-stack-protector \
  -fno-asynchronous-unwind-tables -fno-ident -Wl,--build-id=none \
  -isystem "$("$cc" -print-file-name=include)" -isystem "$work/obj/usr/include" \
  -include "$src/tools/include/nolibc/nolibc.h" \
  -o "$out" "$init_c" -lgcc
