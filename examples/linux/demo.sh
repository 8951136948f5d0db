#!/usr/bin/env bash
# bazel run //examples/linux:demo: the real-kernel example end to end. Shows
# what the chain wrote into the kernel Bazel built (modhash inspect), checks
# the signed modules against it as the kernel will (modhash verify), then
# boots that kernel in QEMU and prints the kernel's verdict on every case
# next to modhash verify's (tests/kernel/boottest).
#
# Arguments (from the BUILD file): MODHASH BOOTTEST INIT VMLINUX_AS_LINKED
#   VMLINUX_WITH_ROOT FILES_OF_THE_CHAINS...
set -euo pipefail
modhash="$1" boottest="$2" init="$3" zero="$4" vmlinux="$5"
shift 5
signed=() compressed=() unsigned=() other=()
for f in "$@"; do
  case "$f" in
  */x86_64_other_tree/signed/*.ko) other+=("$f") ;;
  */x86_64_hashes/signed/*.ko) signed+=("$f") ;;
  */x86_64_hashes_xz/compressed/*.ko.xz) compressed+=("$f") ;;
  */x86_64_hashes/stripped/*.ko) unsigned+=("$f") ;;
  esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "the kernel as linked, and with the root written in (modhash inspect)"
"$modhash" inspect "$zero" "$vmlinux" "${signed[0]}"
step "the ${#signed[@]} signed modules against it, as the kernel will check them (modhash verify)"
"$modhash" verify -vmlinux "$vmlinux" "${signed[@]}"
step "booting it in QEMU: the kernel's verdicts next to modhash verify's"
args=(-kernel "$vmlinux" -vmlinux "$vmlinux" -zero-kernel "$zero" -zero-vmlinux "$zero"
  -init "$init" -modhash "$modhash" -unsigned "${unsigned[0]}" -other "${other[0]}" -out "$(mktemp -d)")
for f in "${signed[@]}"; do args+=(-signed "$f"); done
for f in "${compressed[@]}"; do args+=(-compressed "$f"); done
exec "$boottest" "${args[@]}"
