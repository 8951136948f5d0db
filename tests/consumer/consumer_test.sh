#!/usr/bin/env bash
# modhash used from someone else's workspace, as its README says (issue 29).
#
#   1. tools/release.sh makes the release archive of this checkout (its
#      working tree), twice: the bytes must be the same; README.md's install
#      block must be what it prints (--check-readme).
#   2. "documented": a scratch copy of tests/consumer/workspace (package
#      chain, a minikernel-shaped chain: kernel.bzl and C sources copied
#      from examples/minikernel, no kernel build; no BUILD file at the
#      root, as in a new user's workspace) gets the printed WORKSPACE
#      snippet, the archive at a file:// URL, and nothing else; then
#      `bazel build //...` and `bazel test //...` (module_hashes_test and
#      signed_modules_test), with modhash built from the archive
#      (@modhash//tools/modhash, checked with bazel query).
#   3. "own rule sets": the same workspace declares rules_go v0.34.0 and
#      Gazelle v0.26.0 itself first (http_archive of archives made from their
#      Go modules, at file:// URLs); modhash's set-up must keep them (checked)
#      and the build and tests pass.
#   4., 5. "old rules_go", "old Gazelle": as 3 with rules_go v0.33.0, or
#      Gazelle v0.25.0: the set-up must refuse them, saying which version it
#      needs. 6., 7.: modhash_dependencies(go_module_sources = False) without
#      rules_go, (go_version = None) without a Go SDK: each fails saying so.
#
# The variants share one output base (one Bazel server, stopped at the end;
# --max_idle_secs ends it if this script is killed), so the Go SDK and
# Gazelle's tools are set up once; go_repository uses the host's Go module
# and build caches (GO_REPOSITORY_USE_HOST_CACHE=1); no disk cache.
#
# Usage: tests/consumer/consumer_test.sh
# Environment: KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail

readonly name=consumer_test
# shellcheck source=tests/lib/scratch_builds.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/scratch_builds.sh"
trap 'scratch_finish $?' EXIT

version="$(sed -n '/^module(/,/^)/s/^ *version = "\([^"]*\)".*/\1/p' "$repo/MODULE.bazel")"
readonly version
ws="$tmp/consumer"
ob="$tmp/output_base"
output_bases+=("$ob")

# Bazel in the consumer workspace: no ~/.bazelrc (its disk cache would
# blur what is built here), Debian's noisy --sandbox_debug off.
cbazel() {
  (cd "$ws" && "$repo/bazelw" --output_base="$ob" --nohome_rc --max_idle_secs=600 "$@")
}
timed() {
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  printf '  (%ds)\n' "$((SECONDS - t0))"
  return "$rc"
}

# --------------------------------------------------------------------------
say "1. release archive of modhash $version (tools/release.sh, twice)"
export MODHASH_RELEASE_DIRTY=1 # the working tree, committed or not
"$repo/tools/release.sh" --check-readme "$version" "$tmp/release-readme" >"$tmp/release-readme.out" ||
  { cat "$tmp/release-readme.out"; die "README.md's install block is not tools/release.sh's output"; }
MODHASH_RELEASE_URL_BASE="file://$tmp/release" \
  "$repo/tools/release.sh" "$version" "$tmp/release" >"$tmp/release.out"
archive="$tmp/release/modhash-$version.tar.gz"
cmp "$archive" "$tmp/release-readme/modhash-$version.tar.gz" ||
  die "two runs of tools/release.sh gave different archives"
grep '^SHA-256:' "$tmp/release.out"

# The WORKSPACE snippet: the first starlark block of the output.
snippet="$(awk '/^```starlark$/ { n++; if (n == 1) { inside = 1; next } } /^```$/ { inside = 0 } inside' "$tmp/release.out")"
grep -q "file://$tmp/release/modhash-$version.tar.gz" <<<"$snippet" ||
  die "the printed WORKSPACE snippet does not name the archive's file:// URL:
$snippet"

# make_consumer PREFIX_FILE: the scratch workspace (made again for every
# variant, same path) with PREFIX_FILE's lines (or none) before the snippet.
make_consumer() {
  local prefix="$1" f
  mkdir -p "$ws"
  find "$ws" -mindepth 1 -maxdepth 1 ! -name 'bazel-*' -exec rm -rf {} +
  cp -R "$repo/tests/consumer/workspace/." "$ws/"
  for f in kernel.bzl vmlinux.lds include init kernel drivers/net/dummy.c fs/ext2/ext2.c lib/crc32c.c; do
    mkdir -p "$ws/chain/$(dirname "$f")"
    cp -R "$repo/examples/minikernel/$f" "$ws/chain/$f"
  done
  {
    echo
    [[ -n "$prefix" ]] && cat "$prefix" && echo
    echo "# The set-up of modhash's README (tools/release.sh's output):"
    printf '%s\n' "$snippet"
  } >>"$ws/WORKSPACE"
}

# build_and_test VARIANT: builds and tests everything in the consumer and
# checks that modhash is built from the release archive.
build_and_test() {
  local variant="$1"
  say "$variant: bazel build //... (modhash from the archive)"
  timed cbazel build --nosandbox_debug --disk_cache= --noshow_progress //... ||
    die "$variant: bazel build //... failed in the consumer workspace"
  say "$variant: bazel test //..."
  timed cbazel test --nosandbox_debug --disk_cache= --noshow_progress --test_output=errors --nocache_test_results //... >"$tmp/test.out" 2>&1 ||
    { cat "$tmp/test.out"; die "$variant: bazel test //... failed in the consumer workspace"; }
  grep -E '^//chain:(module_hashes_test|signed_modules_test) +PASSED' "$tmp/test.out" || true
  [[ "$(grep -cE '^//chain:(module_hashes_test|signed_modules_test) +PASSED' "$tmp/test.out")" == 2 ]] ||
    { cat "$tmp/test.out"; die "$variant: module_hashes_test and signed_modules_test did not both pass"; }
  cbazel query --noshow_progress 'somepath(//chain:module_hashes, @modhash//tools/modhash:modhash)' >"$tmp/path.out" 2>"$tmp/query.err" ||
    { cat "$tmp/query.err"; die "$variant: bazel query failed"; }
  grep -qx '@modhash//tools/modhash:modhash' "$tmp/path.out" ||
    die "$variant: //chain:module_hashes does not use @modhash//tools/modhash"
  echo "  //chain:module_hashes uses @modhash//tools/modhash (built from the archive)"
}

# --------------------------------------------------------------------------
make_consumer ""
build_and_test "2. documented set-up"

# --------------------------------------------------------------------------
# Archives of rules_go and Gazelle as their releases have them (Gazelle's
# with vendor/), made from their Go modules.
module_archive() { # MODULE VERSION OUT: writes OUT.tar.gz, prints its SHA-256
  local module="$1" ver="$2" out="$3" dir
  dir="$(GOFLAGS=-mod=mod go mod download -json "$module@$ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir" ]] || die "go mod download $module@$ver gave no directory"
  rm -rf "$tmp/src" && mkdir -p "$tmp/src"
  cp -R "$dir/." "$tmp/src/" && chmod -R u+w "$tmp/src"
  if [[ "$module" == */bazel-gazelle ]]; then
    (cd "$tmp/src" && GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local go mod vendor) ||
      die "go mod vendor in $module@$ver failed"
  fi
  tar -C "$tmp/src" -czf "$out.tar.gz" .
  sha256sum "$out.tar.gz" | cut -c1-64
}
own_prefix() { # RULES_GO_VERSION GAZELLE_VERSION: writes $tmp/own.WORKSPACE
  local rv="$1" gv="$2" rsum gsum
  rsum="$(module_archive github.com/bazelbuild/rules_go "$rv" "$tmp/rules_go-$rv")"
  gsum="$(module_archive github.com/bazelbuild/bazel-gazelle "$gv" "$tmp/bazel-gazelle-$gv")"
  sed -e "s|@RULES_GO_URL@|file://$tmp/rules_go-$rv.tar.gz|" -e "s|@RULES_GO_SHA256@|$rsum|" \
    -e "s|@GAZELLE_URL@|file://$tmp/bazel-gazelle-$gv.tar.gz|" -e "s|@GAZELLE_SHA256@|$gsum|" \
    "$repo/tests/consumer/own_rule_sets.WORKSPACE" >"$tmp/own.WORKSPACE"
}

own_prefix v0.34.0 v0.26.0
make_consumer "$tmp/own.WORKSPACE"
build_and_test "3. own rules_go and Gazelle first"
for r in io_bazel_rules_go bazel_gazelle; do
  cbazel query --noshow_progress --output=build "//external:$r" >"$tmp/rule.out" 2>"$tmp/query.err" ||
    { cat "$tmp/query.err"; die "bazel query //external:$r failed"; }
  grep -q '^http_archive(' "$tmp/rule.out" && grep -q "file://$tmp/" "$tmp/rule.out" ||
    { cat "$tmp/rule.out"; die "3: @$r is not the workspace's own http_archive"; }
done
echo "  @io_bazel_rules_go and @bazel_gazelle are the workspace's own (http_archive, file://)"

# --------------------------------------------------------------------------
# refused VARIANT PREFIX_FILE CALL WANT: with PREFIX_FILE before the set-up
# and modhash_dependencies() called as CALL, the build must fail with the
# message WANT.
refused() {
  local variant="$1" prefix="$2" call="$3" want="$4"
  make_consumer "$prefix"
  sed -i "s/^modhash_dependencies()\$/$call/" "$ws/WORKSPACE"
  grep -qxF "$call" "$ws/WORKSPACE" || die "$variant: no modhash_dependencies() call to replace"
  if cbazel build --nosandbox_debug --disk_cache= --noshow_progress //... >"$tmp/old.out" 2>&1; then
    die "$variant: the build passed"
  fi
  grep -F "$want" "$tmp/old.out" ||
    { cat "$tmp/old.out"; die "$variant: the build failed, but not with the set-up's message: $want"; }
}
say "4. rules_go v0.33.0 declared first: the set-up must refuse it"
own_prefix v0.33.0 v0.26.0
refused 4 "$tmp/own.WORKSPACE" 'modhash_dependencies()' \
  'modhash needs rules_go 0.34.0 or newer; @io_bazel_rules_go (http_archive) is 0.33.0'
say "5. Gazelle v0.25.0 declared first: the set-up must refuse it"
own_prefix v0.34.0 v0.25.0
refused 5 "$tmp/own.WORKSPACE" 'modhash_dependencies()' \
  'modhash needs Gazelle 0.26.0 or newer; @bazel_gazelle (http_archive) is 0.25.0'
say "6. go_module_sources = False without rules_go declared: the set-up must say so"
refused 6 "" 'modhash_dependencies(go_module_sources = False)' \
  'modhash_dependencies(go_module_sources = False): declare @io_bazel_rules_go (rules_go >= 0.34.0) before calling it'
say "7. go_version = None without a Go SDK declared: the set-up must say so"
refused 7 "" 'modhash_dependencies(go_version = None)' \
  'modhash_register_toolchains: no Go SDK is declared'

cbazel shutdown >/dev/null 2>&1 || true
