#!/usr/bin/env bash
# Runs every fuzz target for a bounded number of inputs each (default
# 400000x: 5-15 s each here, under two minutes in all): the parsers of every input format (modules.order, @FILE
# parameter files, manifests, leaf files, strict JSON, signature trailers,
# the boot image headers of modhash audit: bzImage, EFI zboot, System.map,
# PKCS#7 module signatures, the kernel's certificate list and keyring files,
# and audit's banner search, whose corpus is repetitive images)
# and the ELF layout check that guards patching. A failure leaves the input
# that broke it under the package's testdata/fuzz/ for `go test` to replay.
#
# The budget is a count, not a duration: with a duration, Go's fuzzing
# coordinator can report "context deadline exceeded" as a failure when the
# time runs out while a worker is mid-input (golang/go#75804, fixed in Go
# 1.27; seen here with Go 1.26 on a loaded machine). A count has no deadline
# to race; a duration still works as FUZZTIME for a local run.
#
# Usage: tests/fuzz.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime="${1:-400000x}"

targets=(
  ./merkle/kbuild:FuzzParseOrder
  ./tools/modhash:FuzzParseParamFile
  ./merkle:FuzzParseManifest
  ./merkle:FuzzParseEntry
  ./merkle:FuzzParseTrailer
  ./internal/strictjson:FuzzDecode
  ./merkle/vmlinux:FuzzFind
  ./merkle/audit:FuzzParseBzImage
  ./merkle/audit:FuzzParseZboot
  ./merkle/audit:FuzzParseSystemMap
  ./merkle/modsig:FuzzCheck
  ./merkle/keyring:FuzzScan
  ./merkle/audit:FuzzFindBanner
)
for t in "${targets[@]}"; do
  pkg="${t%%:*}" name="${t##*:}"
  printf -- '--- %s %s\n' "$pkg" "$name"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg"
done
