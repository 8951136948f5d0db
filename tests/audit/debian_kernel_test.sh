#!/usr/bin/env bash
# modhash audit on a real distribution kernel: Debian's
# linux-image-6.1.0-50-amd64 (6.1.176-1, fetched with apt-get download and
# checked by SHA-256; tests/lib/debian_kernel.sh). Its kernel was not built
# with CONFIG_MODULE_HASHES and its 4022 modules are PKCS#7-signed, so the
# report must say, in words, that the kernel has no module hashes, count
# 4022 PKCS#7-signed modules, each needing the kernel's keyring, give the
# release from the kernel's banner, find nothing missing from
# modules.order, and exit 1 (the keyring's verdict cannot be given
# offline). Runs only with MODHASH_DEBIAN_KERNEL_TEST=1 (it downloads 70
# MB); tests/run_all.sh sets it.
#
# usage: MODHASH_DEBIAN_KERNEL_TEST=1 tests/audit/debian_kernel_test.sh
# env:   MODHASH_DEBIAN_KERNEL_CACHE  where the package is kept
#                                     (default ~/.cache/modhash/debian-kernel)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
name=debian_kernel_test
die() { printf '%s: FAIL: %s\n' "$name" "$*" >&2; exit 1; }
if [[ "${MODHASH_DEBIAN_KERNEL_TEST:-0}" != 1 ]]; then
	echo "$name: skipped (set MODHASH_DEBIAN_KERNEL_TEST=1: it downloads Debian's linux-image-6.1.0-50-amd64)"
	exit 0
fi
for tool in go apt-get apt-cache dpkg-deb sha256sum jq; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (jq: apt-get install jq)"
done
# shellcheck source=../lib/debian_kernel.sh
. tests/lib/debian_kernel.sh
debian_kernel_fetch "${MODHASH_DEBIAN_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modhash/debian-kernel}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/modhash-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/modhash" ./tools/modhash

status=0
"$tmp/modhash" audit "$debian_vmlinuz" "$debian_modules" >"$tmp/out.txt" 2>"$tmp/err.txt" || status=$?
[[ $status == 1 ]] || die "exit status $status, want 1 (PKCS#7 verdicts need the keyring): $(cat "$tmp/err.txt")"
jstatus=0
"$tmp/modhash" audit -json "$debian_vmlinuz" "$debian_modules" >"$tmp/out.json" || jstatus=$?
[[ $jstatus == 1 ]] || die "-json: exit status $jstatus, want 1"

n=$debian_kernel_modules
check() { grep -qF -- "$1" "$tmp/out.txt" || die "the report lacks: $1"; }
check "kernel: $debian_vmlinuz: x86 bzImage, xz-compressed ELF vmlinux, release $debian_kernel_release"
check "root record: none: the kernel has no .module_hashes section (not built with CONFIG_MODULE_HASHES), so it does not check module hashes"
check "modules: $n in $debian_modules; by signature type: $n PKCS#7;"
check "verdicts: $n needs-keyring"
check "missing from the directory: none ($n in modules.order)"
lines=$(grep -c ': needs-keyring: PKCS#7 signature' "$tmp/out.txt")
[[ $lines == "$n" ]] || die "$lines needs-keyring lines, want $n"

[[ "$(jq -r '.module_hashes' "$tmp/out.json")" == false ]] || die "-json: module_hashes is not false"
[[ "$(jq -r '.release' "$tmp/out.json")" == "$debian_kernel_release" ]] || die "-json: release $(jq -r .release "$tmp/out.json")"
[[ "$(jq -r '.signature_types["PKCS#7"]' "$tmp/out.json")" == "$n" ]] || die "-json: PKCS#7 count $(jq -c .signature_types "$tmp/out.json")"
[[ "$(jq -r '.modules | length' "$tmp/out.json")" == "$n" ]] || die "-json: $(jq -r '.modules | length' "$tmp/out.json") modules"
[[ "$(jq -r '.exit_status' "$tmp/out.json")" == 1 ]] || die "-json: exit_status is not 1"

tail -n 9 "$tmp/out.txt"
echo "$name: passed: no module hashes, $n PKCS#7-signed modules, each needing the keyring"
