#!/usr/bin/env bash
# `bazel run //:buildifier -- ARGS`: runs buildifier (built by Bazel from the
# buildtools Go module) in the workspace directory. This buildifier version
# does not change to $BUILD_WORKSPACE_DIRECTORY by itself.
set -euo pipefail
tool="$(pwd)/$1"
shift
cd "${BUILD_WORKSPACE_DIRECTORY:?run this with bazel run}"
exec "$tool" "$@"
