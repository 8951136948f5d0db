"""modhash_dependencies(): the first stage of the WORKSPACE set-up.

Public through //:deps.bzl; this file holds the implementation so that
//tests/workspace reads the versions it pins with the rest of bazel/*.bzl.
It loads nothing outside this repository: it runs before rules_go and
Gazelle exist. The second stage is bazel/toolchains.bzl.
"""

load(
    ":offline_deps.bzl",
    "go_module_source",
    "go_toolchain_sdk_files",
    "local_coverage_tools",
    "native_rules_shim",
    "system_bazel_repository",
)
load(":versions.bzl", "MIN_GAZELLE_VERSION", "MIN_RULES_GO_VERSION", "check_version", "version_of_rule")

# The Go SDK the tool is tested with (go.mod's go line): the Go module
# golang.org/toolchain@v0.0.1-go<version>.<goos>-<goarch>, checked against
# these go.sum hashes (platform -> h1:).
_GO_SDK_SUMS = {
    "linux_amd64": "h1:+OmeJh7XWeMq4xTkHYEhIziJY/ifiVi4gcm2BWaUnyk=",
}

def _declared(name):
    return native.existing_rule(name) != None

def _check_existing(name, what, minimum):
    """Fails if repository name exists with a version older than minimum."""
    rule = native.existing_rule(name)
    if rule == None:
        return
    check_version(what, "@%s (%s)" % (name, rule["kind"]), version_of_rule(rule), minimum)

def modhash_dependencies(
        go_version = "1.19.13",
        go_sdk_sums = _GO_SDK_SUMS,
        go_module_sources = True,
        offline_bazel_repositories = True):
    """Declares the repositories that modhash's rules and tool need.

    Call it in WORKSPACE after `http_archive(name = "modhash", ...)`, then
    load `modhash_register_toolchains` from `@modhash//:toolchains.bzl` and
    call it (the second stage needs rules_go and Gazelle, which this
    declares). Every repository is declared only if the workspace has not
    declared one of that name already, so a workspace that defines its own
    rules_go, Gazelle, Go SDK or rules_cc before this call keeps them; a
    rules_go older than 0.34.0 or a Gazelle older than 0.26.0 is refused.

    Args:
      go_version: the Go SDK to declare as @go_sdk (from the Go module
        golang.org/toolchain, through `go mod download`), or None when the
        workspace brings its own Go SDK (go_register_toolchains(version = ...),
        go_download_sdk, go_local_sdk, ... before the second stage). The
        tool's Go code needs Go 1.19 or newer.
      go_sdk_sums: platform ("linux_amd64") -> the go.sum hash (h1:...) of
        that SDK module, checked when given; one entry per build platform.
      go_module_sources: True: rules_go v0.34.0 and Gazelle v0.26.0, when not
        declared already, come from their Go modules through the `go` command
        on PATH (`go mod download`: the GOPROXY it is configured with, a
        module mirror, or GOFLAGS=-mod=mod GOPROXY=off and a filled module
        cache for no network at all). False: the workspace declares
        @io_bazel_rules_go and @bazel_gazelle itself before this call (e.g.
        http_archive of their releases); missing ones are an error.
      offline_bazel_repositories: True: bazel_skylib and platforms, when not
        declared already, come from Debian's bazel-skylib and bazel-platforms
        packages (/usr/share/bazel/tools), and @remote_coverage_tools, which
        Bazel 4.2 would download for `bazel test`, is a local stand-in.
        False: declare bazel_skylib and platforms yourself (or let Bazel's
        defaults download them).
    """
    _check_existing("io_bazel_rules_go", "rules_go", MIN_RULES_GO_VERSION)
    _check_existing("bazel_gazelle", "Gazelle", MIN_GAZELLE_VERSION)

    if offline_bazel_repositories:
        if not _declared("bazel_skylib"):
            system_bazel_repository(
                name = "bazel_skylib",
                path = "/usr/share/bazel/tools/skylib",
                package = "bazel-skylib",
            )
        if not _declared("platforms"):
            system_bazel_repository(
                name = "platforms",
                path = "/usr/share/bazel/tools/platforms",
                package = "bazel-platforms",
            )

    # The rules load @rules_cc//cc:find_cc_toolchain.bzl and friends as
    # rules_cc 0.2 has them; on Bazel 4.2 these forward to the built-in C
    # rules. A workspace with a real rules_cc of that shape keeps it.
    if not _declared("rules_cc"):
        native_rules_shim(name = "rules_cc", lang = "cc")
    if not _declared("rules_java"):
        native_rules_shim(name = "rules_java", lang = "java")
    if not _declared("rules_shell"):
        native_rules_shim(name = "rules_shell", lang = "shell")
    if offline_bazel_repositories and not _declared("remote_coverage_tools"):
        # `bazel test` needs @bazel_tools//tools/test:coverage_report_generator,
        # an alias into @remote_coverage_tools, even without coverage.
        local_coverage_tools(name = "remote_coverage_tools")

    if go_module_sources:
        # rules_go v0.34.0: the last release supporting Bazel 4.2.x.
        if not _declared("io_bazel_rules_go"):
            go_module_source(
                name = "io_bazel_rules_go",
                module = "github.com/bazelbuild/rules_go",
                sum = "h1:cmObMtgIOaEU944SqXtJ9DnlS8IPGGa7pdRnsrpQzXM=",
                version = "v0.34.0",
            )

        # Gazelle v0.26.0 (matches rules_go v0.34). vendor = True restores
        # vendor/, which Go module zips leave out.
        if not _declared("bazel_gazelle"):
            go_module_source(
                name = "bazel_gazelle",
                module = "github.com/bazelbuild/bazel-gazelle",
                # Debian's bazel-skylib 1.0.3: unittest.suite() cannot take
                # partial.make() tests ("'struct' object is not callable");
                # drop gazelle's own unit tests.
                patch_cmds = ["sed -i '/^gazelle_binary_test_suite()$/d' internal/BUILD.bazel"],
                sum = "h1:/gh8S450+nfr3wYI6bTYEi297obbVcMObavhPuB7LVo=",
                vendor = True,
                version = "v0.26.0",
            )
    else:
        for name, what in [("io_bazel_rules_go", "rules_go"), ("bazel_gazelle", "Gazelle")]:
            if not _declared(name):
                fail(("modhash_dependencies(go_module_sources = False): declare @%s (%s >= %s) " +
                      "before calling it, or leave go_module_sources at True") % (
                    name,
                    what,
                    MIN_RULES_GO_VERSION if name == "io_bazel_rules_go" else MIN_GAZELLE_VERSION,
                ))

    # The Go SDK; the second stage wraps it as @go_sdk (go_wrap_sdk). Named
    # go_sdk_files, not go_sdk: Gazelle would otherwise take it for a second
    # SDK.
    if go_version and not _declared("go_sdk_files") and not _declared("go_sdk"):
        go_toolchain_sdk_files(
            name = "go_sdk_files",
            sums = go_sdk_sums,
            version = go_version,
        )
