#!/usr/bin/env bash
# The boot images module_hashes_image made equal what the kernel build would
# make from the vmlinux with the root: objcopy (kbuild's flags) of the
# patched vmlinux, compressed or not; and they differ from the kernel
# build's images in the 36 bytes of the record only.
#
#   image_test.sh OBJCOPY PATCHED_VMLINUX BUILD_IMAGE RULE_IMAGE [BUILD_IMAGE RULE_IMAGE]...
set -euo pipefail
objcopy="$1" vmlinux="$2"
shift 2
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
ref="$tmp/Image.ref"
"$objcopy" -O binary -R .note -R .note.gnu.build-id -R .comment -S "$vmlinux" "$ref"
fail=0
raw() { # decompress with the Debian tools, not with modhash
  case "$(od -An -tx1 -N4 "$1" | tr -d ' ')" in
    1f8b*) gzip -dc "$1" ;;
    02214c18) lz4 -dc "$1" ;;
    *) cat "$1" ;;
  esac
}
while (($#)); do
  build="$1" rule="$2"
  shift 2
  raw "$rule" >"$tmp/rule" && raw "$build" >"$tmp/build"
  if cmp -s "$tmp/rule" "$ref"; then
    echo "PASS: $rule equals objcopy of $vmlinux ($(stat -c %s "$ref") bytes)"
  else
    echo "FAIL: $rule differs from objcopy of $vmlinux: $(cmp "$tmp/rule" "$ref" 2>&1 | head -1)"
    fail=1
  fi
  n="$( (cmp -l "$tmp/build" "$tmp/rule" || true) | awk 'NR == 1 {lo = $1} {hi = $1} END {print NR, hi - lo + 1}')"
  read -r count span <<<"$n"
  if ((count > 0 && span <= 36)); then
    echo "PASS: $rule differs from $build in $count bytes within 36"
  else
    echo "FAIL: $rule differs from $build in $count bytes spanning $span (want the 36-byte record only)"
    fail=1
  fi
done
exit "$fail"
