#!/usr/bin/env bash
# Runs every fuzz target for a bounded time each (default 15s; about two
# minutes in all): the parsers of every input format (modules.order, @FILE
# parameter files, manifests, leaf files, strict JSON, signature trailers)
# and the ELF layout check that guards patching. A failure leaves the input
# that broke it under the package's testdata/fuzz/ for `go test` to replay.
#
# Usage: tests/fuzz.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime="${1:-15s}"

targets=(
  ./merkle/kbuild:FuzzParseOrder
  ./tools/modhash:FuzzParseParamFile
  ./merkle:FuzzParseManifest
  ./merkle:FuzzParseEntry
  ./merkle:FuzzParseTrailer
  ./internal/strictjson:FuzzDecode
  ./merkle/vmlinux:FuzzFind
)
for t in "${targets[@]}"; do
  pkg="${t%%:*}" name="${t##*:}"
  printf -- '--- %s %s\n' "$pkg" "$name"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg"
done
