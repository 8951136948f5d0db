#!/usr/bin/env bash
# Runs module_hashes_test executables and checks their verdicts:
#   pass CHECK          CHECK must exit 0
#   fail CHECK TEXT...  CHECK must exit 1 and print every TEXT
# so that a module_hashes_test is shown to fail for a kernel image that does
# not match the modules (patched with another tree, or not patched at all).
set -uo pipefail
failed=0
while (($#)); do
  mode="$1" check="$2"
  shift 2
  wants=()
  if [[ "$mode" == fail ]]; then
    while (($#)) && [[ "$1" != pass && "$1" != fail ]]; do
      wants+=("$1")
      shift
    done
  fi
  output="$("$check" 2>&1)"
  status=$?
  echo "=== $check: exit status $status"
  echo "$output"
  if [[ "$mode" == pass && $status -ne 0 ]]; then
    echo "FAIL: $check should pass" >&2
    failed=1
  elif [[ "$mode" == fail && $status -ne 1 ]]; then
    echo "FAIL: $check should fail with exit status 1" >&2
    failed=1
  fi
  for want in "${wants[@]}"; do
    if [[ "$output" != *"$want"* ]]; then
      echo "FAIL: $check does not print \"$want\"" >&2
      failed=1
    fi
  done
done
exit "$failed"
