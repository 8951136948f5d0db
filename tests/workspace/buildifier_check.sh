#!/usr/bin/env bash
# Fails when buildifier would reformat, or warns about, any BUILD, .bzl,
# WORKSPACE or MODULE.bazel file. Fix with:
#   ./bazelw run //:buildifier -- -mode=fix -lint=fix -r .
#
# Not a Bazel test, for the same reason as gazelle_check.sh: it must see
# every BUILD file of the repository, which a Bazel 4 test cannot get as data
# without listing each package by hand.
#
# Usage: tests/workspace/buildifier_check.sh [bazel startup options...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if ! ./bazelw "$@" run --noshow_progress --ui_event_filters=-info,-stdout,-stderr \
  //:buildifier -- -mode=check -lint=warn -r . </dev/null; then
  echo "buildifier_check: run: ./bazelw run //:buildifier -- -mode=fix -lint=fix -r ." >&2
  exit 1
fi
echo "buildifier_check: all BUILD/.bzl files are formatted and lint-clean"
