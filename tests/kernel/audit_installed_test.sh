#!/usr/bin/env bash
# modhash audit of the bzImage that boots over the installed module trees
# that x86_64_boot_test loads with modprobe (kernel_modules_install, plain
# and .ko.xz): the kernel found in the bzImage's compressed payload, every
# module of modules.order present and accepted, exit 0, as the kernel's own
# verdicts in the boot test.
#
#   audit_installed_test.sh MODHASH BZIMAGE INSTALLED INSTALLED_XZ
set -euo pipefail
modhash=$1 bz=$2
shift 2
fail=0
for tree in "$@"; do
  dir=("$tree"/lib/modules/*)
  n=$(grep -c . "${dir[0]}/modules.dep")
  status=0
  "$modhash" audit -json "$bz" "${dir[0]}" >"$TEST_TMPDIR/audit.json" || status=$?
  accepted=$(jq '[.modules[] | select(.verdict == "accepted")] | length' "$TEST_TMPDIR/audit.json")
  missing=$(jq '.missing | length' "$TEST_TMPDIR/audit.json")
  release=$(jq -r .release "$TEST_TMPDIR/audit.json")
  echo "$tree: exit $status, $accepted of $n modules accepted, $missing missing, release $release"
  if ((status != 0)) || [[ "$accepted" != "$n" || "$missing" != 0 || "$release" != "$(basename "${dir[0]}")" ]]; then
    echo "FAIL: want exit 0, all $n accepted, none missing, release $(basename "${dir[0]}")"
    fail=1
  fi
done
"$modhash" audit "$bz" "$1"/lib/modules/* | sed -n '/^kernel: /,$p'
exit $fail
