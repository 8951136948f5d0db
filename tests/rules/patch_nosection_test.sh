#!/usr/bin/env bash
# modhash patch, as module_hashes_vmlinux runs it, on a kernel image without
# a .module_hashes section: it must fail, name the file and say why, and
# write nothing. (The build failure itself: bazel build
# //tests/rules:nosection_vmlinux, see README.md.)
# Usage: patch_nosection_test.sh MODHASH VMLINUX MANIFEST
set -uo pipefail
modhash="$1" vmlinux="$2" manifest="$3"
out="${TEST_TMPDIR:-$(mktemp -d)}/vmlinux"

stderr="$("$modhash" patch -o "$out" -manifest "$manifest" "$vmlinux" 2>&1 >/dev/null)"
status=$?
echo "modhash patch exit status $status: $stderr"
failed=0
if [[ $status -ne 2 ]]; then
  echo "FAIL: want exit status 2 (docs/exit-codes.md: bad input)" >&2
  failed=1
fi
for want in "$vmlinux" "no .module_hashes section"; do
  if [[ "$stderr" != *"$want"* ]]; then
    echo "FAIL: the message does not contain \"$want\"" >&2
    failed=1
  fi
done
if [[ -e "$out" ]]; then
  echo "FAIL: $out was written" >&2
  failed=1
fi
exit "$failed"
