#!/usr/bin/env bash
# Runs every test of the project, installing what a fresh Debian machine
# lacks (Bazel 4.2.3 and its Debian repositories through ./bazelw, the cross
# toolchains for the ELF tests). This is the README's test command and what
# .ci/run executes.
#
#   tests/run_all.sh            everything
#   tests/run_all.sh go         only the Go checks (go vet, go test, fuzzing)
#   tests/run_all.sh bazel      only the Bazel checks
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-all}"
step() { printf '\n=== %s\n' "$*"; }

step "Debian packages of bazel/debian-packages.txt (./bazelw installs what is missing)"
./bazelw info release >/dev/null
step "the pinned kernel source can still be had (examples/linux/check_pin.sh)"
examples/linux/check_pin.sh

if [[ "$what" == all || "$what" == go ]]; then
  step "cross toolchains for the ELF tests"
  tests/elftest/install-cross.sh
  step "go vet ./..."
  go vet ./...
  step "go test ./..."
  # Every cross-architecture ELF test must run: a missing toolchain fails.
  MODHASH_REQUIRE_CROSS=1 go test -count=1 ./...
  step "modhash audit on Debian's linux-image-6.1.0-50-amd64 (downloaded once, checked by SHA-256)"
  MODHASH_DEBIAN_KERNEL_TEST=1 tests/audit/debian_kernel_test.sh
  step "Debian's kernel judges audit: booted in QEMU with module.sig_enforce=1 over its own modules and cases made from them"
  MODHASH_DEBIAN_KERNEL_TEST=1 tests/audit/debian_boot_test.sh
  step "interruption tests, again and again: a flaky one keeps good work from landing (issue 16)"
  # About 20 s a round on two cores (trees of 600 modules); the journal
  # races of internal/atomicfile half a minute in all. The full proof,
  # 200 rounds, is in the closing note of issue 16.
  go test -count=10 -failfast -run 'TestKbuildInterrupted|TestKbuildSignals|TestSignalAfterCommit' ./tools/modhash/
  go test -count=50 -run 'TestJournalCreationRace|TestOverlappingRunsSerialized|TestConcurrentRunRefused' ./internal/atomicfile/
  # 200000 inputs each in CI (18 targets, about 2.5 min): this round's
  # remote execution, Debian boot and consumer tests had to fit in CI's
  # 60 minutes; tests/fuzz.sh alone runs 400000 each.
  step "fuzzing: every input parser and the ELF layout check, ${MODHASH_FUZZTIME:-200000x} each"
  tests/fuzz.sh "${MODHASH_FUZZTIME:-200000x}"
fi

if [[ "$what" == all || "$what" == bazel ]]; then
  step "./bazelw test //..."
  ./bazelw test //...
  step "workers: outputs byte-identical with and without the persistent worker and with a go-built modhash"
  tests/worker/worker_test.sh
  step "gazelle: BUILD files up to date"
  tests/workspace/gazelle_check.sh
  step "buildifier: every Starlark file formatted, no lint warning of any category"
  tests/workspace/buildifier_check.sh
  step "remote cache: every module hashes action hits from a second output base (nginx WebDAV)"
  tests/remote_cache/remote_cache_test.sh
  step "reproducibility and remote execution: a local build and one on a Buildbarn cluster (every action remote, the boot test too) are byte-identical"
  # Also the reproducibility test (tests/repro/repro_test.sh without a
  # cluster): its second build is the remote one, so CI pays one kernel
  # build for both.
  tests/remote_exec/remote_exec_test.sh
fi

# The release archive, used from a workspace outside the repository (issue 29).
if [[ "$what" == all || "$what" == bazel ]]; then
  step "consumer: the README's set-up, from a release archive made now, in a workspace of its own (tests/consumer)"
  tests/consumer/consumer_test.sh
fi
step "all tests passed"
