#!/usr/bin/env bash
# Each compressed module (<root>/compressed/<basename>.gz|.xz|.zst) must
# decompress, with the standard tool of its format, to exactly the signed
# module (<root>/signed/<basename>): the kernel checks the decompressed
# bytes. Arguments: the default outputs of module_hashes_root targets with
# compression (manifest, root record and compressed modules).
set -uo pipefail
failed=0
checked=0
for compressed in "$@"; do
  case "$compressed" in
  */compressed/*.gz) tool=(gzip -d -c) ;;
  */compressed/*.xz) tool=(xz -d -c) ;;
  */compressed/*.zst) tool=(zstd -d -c -q) ;; # from stdin: zstd skips symlinks
  *) continue ;;
  esac
  base="$(basename "$compressed")"
  signed="$(dirname "$(dirname "$compressed")")/signed/${base%.*}"
  checked=$((checked + 1))
  if ! command -v "${tool[0]}" >/dev/null; then
    echo "FAIL: ${tool[0]} is not installed; it is needed to check $compressed" >&2
    failed=1
  elif "${tool[@]}" <"$compressed" | cmp - "$signed"; then
    echo "ok: ${tool[*]} $compressed = $signed"
  else
    echo "FAIL: ${tool[*]} $compressed differs from $signed" >&2
    failed=1
  fi
done
if ((checked == 0)); then
  echo "FAIL: no compressed modules among the arguments" >&2
  failed=1
fi
exit "$failed"
