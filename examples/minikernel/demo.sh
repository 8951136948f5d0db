#!/usr/bin/env bash
# `bazel run //examples/minikernel:demo`: shows the module hashes of the
# minikernel, each module's verdict from `modhash verify` against the patched
# vmlinux, and where the outputs are. Run by the module_hashes_demo wrapper
# (DEMO_* variables hold runfiles-relative paths) from the runfiles directory.
set -euo pipefail

modhash="$DEMO_modhash"
mapfile -t signed <"$DEMO_modules"

# The manifest is indented JSON with one field per line (modhash writes it so).
field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$DEMO_manifest"; }
mapfile -t names < <(sed -n 's/^      "name": "\(.*\)",$/\1/p' "$DEMO_manifest")

levels="$(field levels)"
root="$(field root)"
count="${#names[@]}"

# bazel-bin relative location of a generated file (runfiles path).
out() { printf 'bazel-bin/%s' "$1"; }

echo "Module hashes of $DEMO_label (CONFIG_MODULE_HASHES)"
echo
echo "  root    $root"
echo "  levels  $levels ($count modules; each module carries a $((44 + 32 * levels))-byte proof)"
echo
echo "Each signed module checked as the kernel would load it, against"
echo "$(out "$DEMO_vmlinux"):"
echo

status=0
verdicts="$("$modhash" verify -vmlinux "$DEMO_vmlinux" -manifest "$DEMO_manifest" "@$DEMO_modules")" || status=$?
mapfile -t lines <<<"$verdicts"
printf '  %-4s %-36s %s\n' pos module verdict
for i in "${!signed[@]}"; do
  line="${lines[$i]}"
  verdict="${line#"${signed[$i]}: "}"
  printf '  %-4s %-36s %s\n' "$i" "${names[$i]:-?}" "$verdict"
done
# Anything after the per-module verdicts: manifest problems and the summary.
for ((i = ${#signed[@]}; i < ${#lines[@]}; i++)); do
  echo "  ${lines[$i]}"
done

echo
echo "Outputs (relative to the workspace):"
printf '  %-16s %s\n' "kernel image" "$(out "$DEMO_vmlinux")"
printf '  %-16s %s\n' "manifest" "$(out "$DEMO_manifest")"
printf '  %-16s %s (%s-endian levels)\n' "root record" "$(out "$DEMO_record")" "$DEMO_byte_order"
if [[ -n "$DEMO_proofs_dir" ]]; then
  printf '  %-16s %s/*.merkle\n' "proofs" "$(out "$DEMO_proofs_dir")"
fi
if ((${#signed[@]} > 0)); then
  printf '  %-16s %s/\n' "signed modules" "$(out "$(dirname "${signed[0]}")")"
fi
if [[ -n "$DEMO_compressed" ]]; then
  read -r -a compressed <<<"$DEMO_compressed"
  printf '  %-16s %s/\n' "compressed" "$(out "$(dirname "${compressed[0]}")")"
fi
exit "$status"
