#!/usr/bin/env bash
# Fails when Gazelle would change any BUILD file: run it after editing Go
# code (imports, new files or packages). Fix with: ./bazelw run //:gazelle
#
# Not a Bazel test: Gazelle must see every Go and BUILD file of the
# repository, and a Bazel 4 test can only get them as data package by package
# (a glob stops at each subpackage), so a new package would silently escape
# the check. This runs Gazelle, built by Bazel, on the checkout itself.
#
# Usage: tests/workspace/gazelle_check.sh [bazel startup options...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

status=0
diff="$(./bazelw "$@" run --noshow_progress --ui_event_filters=-info,-stdout,-stderr \
  //:gazelle -- -mode=diff </dev/null)" || status=$?
if [[ -n "$diff" || "$status" -ne 0 ]]; then
  printf '%s\n' "$diff"
  echo "gazelle_check: BUILD files are out of date (gazelle exit $status); run: ./bazelw run //:gazelle" >&2
  exit 1
fi
echo "gazelle_check: BUILD files are up to date"
