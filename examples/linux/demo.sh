#!/usr/bin/env bash
# bazel run //examples/linux:demo: the real-kernel example end to end. Shows
# what the chain wrote into the kernel Bazel built (modhash inspect), checks
# the signed modules against it as the kernel will (modhash verify), then
# boots the bzImage made from it in QEMU, loads every installed module with
# modprobe, and holds the kernel's verdict on every case against modhash
# verify's (tests/kernel/boottest): a summary per boot on the terminal, the
# full table of cases in a file whose path it prints.
#
# Arguments (from the BUILD file): MODHASH BOOTTEST INIT VMLINUX_AS_LINKED
#   VMLINUX_WITH_ROOT BZIMAGE_AS_LINKED BZIMAGE_WITH_ROOT INSTALLED
#   INSTALLED_XZ REBUILT FILES_OF_THE_CHAINS...
set -euo pipefail
modhash="$1" boottest="$2" init="$3" zero="$4" vmlinux="$5" zero_bz="$6" bz="$7"
installed="$8" installed_xz="$9" rebuilt="${10}"
shift 10
signed=() unsigned=() other=()
for f in "$@"; do
  case "$f" in
  */x86_64_other_tree/signed/*.ko) other+=("$f") ;;
  */x86_64_hashes/signed/*.ko) signed+=("$f") ;;
  */x86_64_hashes/stripped/test_module.ko) unsigned+=("$f") ;;
  esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "the kernel as linked and with the root written in, vmlinux and bzImage (modhash inspect)"
"$modhash" inspect "$zero" "$vmlinux" "$zero_bz" "$bz"
step "the ${#signed[@]} signed modules (the kernel build's and 2 external ones) against it, as the kernel will check them (modhash verify)"
"$modhash" verify -vmlinux "$vmlinux" "${signed[@]}" | tail -n 1
step "booting the bzImage made from it in QEMU; modprobe loads the installed tree: the kernel's verdicts next to modhash verify's"
# A summary per boot here; every case's verdicts, side by side, in a file.
out="$(mktemp -d "${TMPDIR:-/tmp}/modhash-demo.XXXXXX")"
args=(-kernel "$bz" -vmlinux "$vmlinux" -zero-kernel "$zero_bz" -zero-vmlinux "$zero"
  -installed "$installed" -installed-xz "$installed_xz" -request binfmt_misc:/binfmt -tamper crypto_algapi
  -rebuilt "$rebuilt" -bad-base test_module -qemu-args "-M q35 -m 512 -cpu max"
  -init "$init" -modhash "$modhash" -unsigned "${unsigned[0]}" -other "${other[0]}" -out "$out" -table "$out/verdicts.txt")
for f in "${signed[@]}"; do args+=(-signed "$f"); done
exec "$boottest" "${args[@]}"
