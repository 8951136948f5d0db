#!/usr/bin/env bash
# Fails when buildifier would reformat, or warns about, any Starlark file of
# the repository: BUILD, BUILD.bazel, *.bzl, *.star, WORKSPACE,
# WORKSPACE.bzlmod, MODULE.bazel (tracked files, and new ones not ignored by
# git). Every lint warning category is on (-warnings=all), including those
# buildifier leaves off by default. Fix with:
#   ./bazelw run //:buildifier -- -mode=fix -lint=fix -warnings=all -r .
# (a warning that must stay gets a `# buildifier: disable=<category>`
# comment with the reason).
#
# Not a Bazel test, for the same reason as gazelle_check.sh: it must see
# every BUILD file of the repository, which a Bazel 4 test cannot get as data
# without listing each package by hand.
#
# Usage: tests/workspace/buildifier_check.sh [bazel startup options...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# Paths relative to the repository root, which the buildifier wrapper
# (//bazel:buildifier.sh) changes to.
files=()
while IFS= read -r -d '' f; do
  case "${f##*/}" in
    BUILD | BUILD.bazel | *.bzl | *.star | WORKSPACE | WORKSPACE.bazel | MODULE.bazel) files+=("$f") ;;
  esac
done < <(git ls-files -z --cached --others --exclude-standard)
[[ ${#files[@]} -gt 0 ]] || {
  echo "buildifier_check: no Starlark files found" >&2
  exit 1
}

run() {
  ./bazelw "$@" run --noshow_progress --ui_event_filters=-info,-stdout,-stderr //:buildifier -- \
    -mode=check -lint=warn -warnings=all "${args[@]}" </dev/null
}
status=0
args=("${files[@]}")
run "$@" || status=1
# WORKSPACE.bzlmod has a name buildifier does not recognise: say what it is.
if [[ -f WORKSPACE.bzlmod ]]; then
  args=(-type=workspace WORKSPACE.bzlmod)
  run "$@" || status=1
fi
if [[ $status -ne 0 ]]; then
  echo "buildifier_check: run: ./bazelw run //:buildifier -- -mode=fix -lint=fix -warnings=all -r ." >&2
  exit 1
fi
echo "buildifier_check: ${#files[@]} Starlark files (+ WORKSPACE.bzlmod) are formatted and free of warnings (all categories)"
