#!/usr/bin/env bash
# The chain's outputs must not depend on where or when they were built: no
# absolute paths of the build machine (output base, sandbox, home or
# temporary directories) in any of the given files.
set -uo pipefail
failed=0
patterns='execroot|sandbox|/proc/self|/root/|/home/|/tmp/|/usr/|_bazel_'
for f in "$@"; do
  if hits="$(grep -a -o -E ".{0,30}($patterns).{0,30}" "$f")"; then
    echo "FAIL: $f contains build paths:" >&2
    echo "$hits" | head -5 >&2
    failed=1
  else
    echo "ok: $f"
  fi
done
exit "$failed"
