#!/usr/bin/env bash
# Reproducibility test (issue 4): two independent builds of the example
# kernel chain must give byte-identical outputs.
#
# The two builds differ in everything that must not matter:
#   * the checkout's absolute path (two copies of this checkout, at paths of
#     different lengths and depths),
#   * the output base (fresh, at different paths),
#   * the time (they run one after the other),
#   * the environment: TZ, LC_ALL and umask.
# Build 1 may take what the machine's disk cache holds (in tests/run_all.sh:
# what `bazel test //...` built minutes before, in the checkout itself and
# its own output base, another path again): an earlier build, not a copy of
# build 2. Build 2 uses no cache at all and runs every action. So the test
# costs one kernel build, not two; with an empty disk cache it builds twice.
# REPRO_NO_CACHE=1 turns the disk cache off for build 1 too.
#
# tests/run_all.sh runs tests/remote_exec/remote_exec_test.sh instead: the
# same builds with build 2 on a remote execution cluster (another machine,
# in effect), at the cost of one kernel build too. This test is the same
# check where no cluster can be had.
#
# What is built and compared: tests/repro/repro_lib.sh. Prints a table of
# the deliverables (SHA-256, identical/DIFFERENT) and a summary of all other
# action outputs; fails on any difference.
#
# Usage: tests/repro/repro_test.sh
# Environment: KEEP_TMP=1 keeps the temporary directory (for debugging).
set -euo pipefail

readonly name=repro_test
# shellcheck source=tests/lib/scratch_builds.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/scratch_builds.sh"
# shellcheck source=tests/repro/repro_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/repro_lib.sh"
trap 'scratch_finish $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

src1="$tmp/a/modhash"
src2="$tmp/second-build/some/deeper/path/to/the/checkout"
ob1="$tmp/ob1"
ob2="$tmp/output-base-2"
output_bases=("$ob1" "$ob2")
src_of=(["$ob1"]="$src1" ["$ob2"]="$src2")
declare -A ob_of=([1]="$ob1" [2]="$ob2")
copy_checkout "$src1"
copy_checkout "$src2"

add_minikernel_compression_packages tests/repro/generated

# Build 1: the disk cache of .bazelrc, as Bazel resolves it (its "~" is
# the user's home directory from the password database, not $HOME).
cache1=()
[[ -n "${REPRO_NO_CACHE:-}" ]] && cache1=(--disk_cache=)
repro_build 1 "$src1" "$ob1" UTC C 022 build "${cache1[@]}"
# Not needed any more: free the memory of its server.
stop_server "$ob1"
repro_build 2 "$src2" "$ob2" Pacific/Kiritimati C.UTF-8 002 build --disk_cache=
stop_server "$ob2"

repro_compare 1 2
echo "OK: the two builds wrote byte-identical files"
