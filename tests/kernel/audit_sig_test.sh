#!/usr/bin/env bash
# modhash audit on the x86_64_sig kernel (CONFIG_MODULE_SIG and
# CONFIG_MODULE_HASHES, the committed test key in its keyring): its own
# modules accepted by their proofs; the out-of-tree module signed by
# scripts/sign-file with the test key (SHA-256, SHA-512) accepted by the
# built-in key, which audit reads from the vmlinux (its ELF symbols); the
# same signed with another key ENOKEY (exit 1), and accepted by the
# secondary keyring when that key's certificate is given with -keyring
# (exit 0). The boot test (x86_64_sig_boot_test) gets the same verdicts
# from the kernel itself.
#
#   audit_sig_test.sh MODHASH VMLINUX TEST_KEY_KO SHA512_KO OTHER_KO OTHER_PEM -- SIGNED...
set -euo pipefail
modhash=$1 vmlinux=$2 test_key=$3 sha512=$4 other=$5 other_pem=$6
shift 6
[[ ${1:-} == -- ]] || { echo "usage: see the header of $0" >&2; exit 2; }
shift
(($# > 0)) || { echo "no signed modules given" >&2; exit 2; }

tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/audit_sig_test.XXXXXX")
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
mkdir -p "$tmp/mods/kernel" "$tmp/mods/extra"
for m in "$@"; do cp "$m" "$tmp/mods/kernel/"; done
cp "$test_key" "$tmp/mods/extra/test_key.ko"
cp "$sha512" "$tmp/mods/extra/sha512.ko"
cp "$other" "$tmp/mods/extra/other_key.ko"

status=0
"$modhash" audit -module-sig "$vmlinux" "$tmp/mods" >"$tmp/out.txt" 2>&1 || status=$?
cat "$tmp/out.txt"
[[ $status == 1 ]] || bad "exit status $status, want 1 (other_key.ko is refused)"
want() { grep -qF -- "$1" "$tmp/$2" || bad "$2 lacks: $1"; }
want 'extra/test_key.ko: accepted: PKCS#7 signature signed by "modhash TEST ONLY module-signing key: never trust it" (RSA 2048, sha256) in the builtin keyring' out.txt
want 'extra/sha512.ko: accepted: PKCS#7 signature signed by "modhash TEST ONLY module-signing key: never trust it" (RSA 2048, sha512) in the builtin keyring' out.txt
want 'extra/other_key.ko: ENOKEY: PKCS#7 signature: the module is not signed with a trusted key' out.txt
want 'keys: 1 built-in certificates (ELF symbols system_certificate_list' out.txt
want 'builtin: modhash TEST ONLY module-signing key: never trust it' out.txt
want "verdicts: $(($# + 2)) accepted, 1 ENOKEY" out.txt

# The other key's certificate in the secondary keyring: every module loads.
status=0
"$modhash" audit -module-sig -keyring "$other_pem" "$vmlinux" "$tmp/mods" >"$tmp/out2.txt" 2>&1 || status=$?
[[ $status == 0 ]] || { cat "$tmp/out2.txt"; bad "with -keyring: exit status $status, want 0"; }
want "extra/other_key.ko: accepted: PKCS#7 signature signed by \"modhash TEST ONLY other key: never trust it\" (RSA 2048, sha256) in the secondary (-keyring $other_pem) keyring" out2.txt

# -json: errno, signer and keyring per module.
"$modhash" audit -json -module-sig "$vmlinux" "$tmp/mods" >"$tmp/out.json" 2>&1 || true
want '"errno": "EKEYREJECTED"' out.json
want '"keyring": "builtin"' out.json

# A keyring file of garbage, and a FIFO: a clear error, exit 2.
printf 'not a certificate' >"$tmp/garbage.pem"
status=0
"$modhash" audit -module-sig -keyring "$tmp/garbage.pem" "$vmlinux" "$tmp/mods" >"$tmp/err.txt" 2>&1 || status=$?
[[ $status == 2 ]] || bad "garbage keyring: exit status $status, want 2"
want "garbage.pem: bytes at offset 0 are neither PEM nor a DER certificate" err.txt
mkfifo "$tmp/fifo"
status=0
timeout 20 "$modhash" audit -module-sig -keyring "$tmp/fifo" "$vmlinux" "$tmp/mods" >"$tmp/err2.txt" 2>&1 || status=$?
[[ $status == 2 ]] || bad "FIFO keyring: exit status $status, want 2"
want "fifo" err2.txt

rm -rf "$tmp"
((fail == 0)) || exit 1
echo "audit_sig_test: passed: $# proofs, the test key's signatures (SHA-256, SHA-512) accepted by the built-in key read from the vmlinux, another key ENOKEY, accepted with -keyring"
